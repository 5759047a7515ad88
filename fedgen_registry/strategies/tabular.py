"""FedAvg of a CTGAN generator and critic: the family algorithm of federated tabular GANs.

Each round the sampled clients start from the global generator and critic, run ``local_steps`` CTGAN
updates (WGAN-GP critic with PacGAN, conditional generator with training-by-sampling) on their own
encoded rows, and return both networks; the server is the GAN pair's FedAvg
(:class:`~fedgen_registry.strategies.gan.PairServer`), weighted by client row counts. The config and
smoke preset live here so that the federated algorithm and its centralized twin share them.
"""

from __future__ import annotations

from types import MappingProxyType

from pydantic import Field
from torch import nn

from fedgen_registry.data.tabular_sampling import EncodedRows
from fedgen_registry.federation.arrays import load_module_arrays
from fedgen_registry.federation.protocol import Client, Message
from fedgen_registry.models.tabular import TabularModelConfig
from fedgen_registry.strategies.fedavg import TRAIN
from fedgen_registry.strategies.gan import PairServer, pair_arrays
from fedgen_registry.tasks.table import TabularGANAlgorithm, TabularGANConfig
from fedgen_registry.tasks.table_step import TabularOptimConfig, train_steps


class FedAvgTabularGANConfig(TabularGANConfig):
    local_steps: int = Field(10, ge=1, description="CTGAN updates (critic, then generator) per client per round.")


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
}
"""FedAvg-Tabular-GAN's quality preset (provisional)."""


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
        return PairServer(self.new_generator(), self.new_discriminator(), self.config.clients_per_round)

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
