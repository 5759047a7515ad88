"""FedAvg of a CTGAN generator and critic: the family algorithm of federated tabular GANs.

Each round the sampled clients start from the global generator and critic, run ``local_steps`` CTGAN
updates (WGAN-GP critic, conditional generator with training-by-sampling) on their own encoded rows,
and return both networks; the server is the GAN pair's FedAvg
(:class:`~fedgen_registry.strategies.gan.PairServer`), weighted by client row counts, and with ``ema``
also keeps a moving average of the global generator, judged in its place
(:class:`~fedgen_registry.strategies.gan.AveragedGeneratorServer`). The config and presets live here so
that the federated algorithm and its centralized twin share them.
"""

from __future__ import annotations

from types import MappingProxyType, SimpleNamespace
from typing import Any

from pydantic import Field
from torch import nn

from fedgen_registry.data.tabular_sampling import EncodedRows
from fedgen_registry.federation.arrays import load_module_arrays
from fedgen_registry.federation.protocol import Client, Message, Server
from fedgen_registry.models.tabular import TabularModelConfig
from fedgen_registry.strategies.fedavg import TRAIN
from fedgen_registry.strategies.gan import AveragedGeneratorServer, PairServer, pair_arrays
from fedgen_registry.tasks.table import TabularGANAlgorithm, TabularGANConfig
from fedgen_registry.tasks.table_step import TabularOptimConfig, train_steps


class FedAvgTabularGANConfig(TabularGANConfig):
    local_steps: int = Field(10, ge=1, description="CTGAN updates (critic, then generator) per client per round.")
    ema: float | None = Field(
        None,
        ge=0,
        lt=1,
        description="Decay of the server's moving average of the global generator, updated every round and "
        "judged in its place (None: judge the last global generator).",
    )


FEDAVG_TABULAR_GAN_SMOKE = {
    "rounds": 15,
    "clients": 3,
    "local_steps": 10,
    "data.max_features": 8,
    "encoding.max_clusters": 3,
    "encoding.pseudo_rows": 200,
    "optim.lr_g": 2e-3,
    "optim.lr_d": 2e-3,
}
"""FedAvg-Tabular-GAN's smoke preset, which its centralized twin scales to one client."""

FEDAVG_TABULAR_GAN_QUALITY = {
    "rounds": 30,
    "clients": 10,
    "clients_per_round": 2,
    "local_steps": 10,
    "data.partition": "iid",
    "model.pac": 1,
    "optim.batch_size": 100,
    "optim.lr_g": 5e-4,
    "optim.lr_d": 5e-4,
    "optim.critic_steps": 5,
    "ema": 0.9,
}
"""FedAvg-Tabular-GAN's quality preset: 10 IID clients, 2 a round, 30 rounds of 10 steps. Each step's 5 critic
updates draw 100 real rows: 30 x 2 x 10 x 5 x 100 = 300,000 draws, as many as its twin's 30 rounds of 20 steps.

CTGAN's step and Adam betas on the default 64-wide networks (CTGAN's 256 ran slower and no better), with what
these small tables needed: five critic updates per generator update (WGAN-GP's count; CTGAN makes one), no
packing (with CTGAN's pac 10, wine's TSTR was 0.56-0.81 after 450-600 steps; with pac 1, 0.94-0.97), rate 5e-4
and batch 100 (CTGAN's 2e-4 and 500 took twice the time for no gain), and the server's moving average of the
generator (decay 0.9), which lifted breast cancer's TSTR from ~0.92 to ~0.94 over seeds 0-2, where 1,200 steps
without it did not. The twin's 600 generator steps keep the centralized run within a minute on two cores."""


class TabularGANClient(Client):
    """Stateless between rounds: both networks are overwritten by every message."""

    def __init__(
        self,
        data: EncodedRows,
        generator: nn.Module,
        discriminator: nn.Module,
        local_steps: int,
        model: TabularModelConfig,
        optim: TabularOptimConfig,
    ) -> None:
        self.data, self.generator, self.discriminator = data, generator, discriminator
        self.local_steps, self.model, self.optim = local_steps, model, optim

    def handle(self, message: Message) -> Message:
        if message.message_type != TRAIN:
            raise ValueError(f"a FedAvg-Tabular-GAN client does not handle {message.message_type!r}")
        load_module_arrays(self.generator, message.arrays, "g.")
        load_module_arrays(self.discriminator, message.arrays, "d.")
        losses = train_steps(self.generator, self.discriminator, self.data, self.local_steps, self.model, self.optim)
        arrays = pair_arrays(self.generator, self.discriminator)
        return Message(TRAIN, arrays, {"num_examples": len(self.data), **losses})


class FedAvgTabularGANAlgorithm(TabularGANAlgorithm[FedAvgTabularGANConfig]):
    """The tabular task trained by FedAvg of the CTGAN pair."""

    uploads = MappingProxyType({"g.": "generator-parameters", "d.": "discriminator-parameters"})
    weighted_mean_upload = True

    def make_server(self) -> PairServer:
        generator, discriminator, per_round = (
            self.new_generator(),
            self.new_discriminator(),
            self.config.clients_per_round,
        )
        if self.config.ema is not None:
            return AveragedGeneratorServer(generator, discriminator, per_round, self.config.ema)
        return PairServer(generator, discriminator, per_round)

    def finish(self, server: Server) -> dict[str, Any]:
        if isinstance(server, AveragedGeneratorServer):
            return super().finish(SimpleNamespace(generator=server.averaged))
        return super().finish(server)

    def make_client(self, client_id: int) -> TabularGANClient:
        config = self.config
        return TabularGANClient(
            self.client_rows(client_id),
            self.new_generator(),
            self.new_discriminator(),
            config.local_steps,
            config.model,
            config.optim,
        )
