"""FedAvg-Tabular-GAN: FedAvg of a CTGAN generator and critic, on an encoding built from client summaries.

The family algorithm of federated tabular GANs. Before training, each client summarises its own
columns (Gaussian-mixture modes, category counts) and the server fits the shared CTGAN encoding on
those summaries alone (:mod:`fedgen_registry.data.tabular_encoding`), so the clients share one
encoded space without pooling rows. Then each round the sampled clients start from the global
generator and critic, run ``local_steps`` CTGAN updates (WGAN-GP critic with PacGAN, conditional
generator with training-by-sampling) on their own encoded rows, and return both networks; the server
replaces the global networks by their mean weighted by client row counts (the FedAvg-GAN server).
"""

from __future__ import annotations

from pydantic import Field
from torch import nn

from fedgen_registry.federation.arrays import load_module_arrays, module_arrays
from fedgen_registry.federation.protocol import Client, Message
from fedgen_registry.implementations.generation.gan.fedavg_gan import TRAIN, FedAvgGANServer
from fedgen_registry.models.tabular import EncodedRows, TabularModelConfig, TabularOptimConfig, train_steps
from fedgen_registry.registry import register
from fedgen_registry.tasks.table import TabularGANAlgorithm, TabularGANConfig


class FedAvgTabularGANConfig(TabularGANConfig):
    local_steps: int = Field(10, ge=1, description="CTGAN updates (critic, then generator) per client per round.")


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
        arrays = {**module_arrays(self.generator, "g."), **module_arrays(self.discriminator, "d.")}
        return Message(TRAIN, arrays, {"num_examples": len(self.data), **losses})


SMOKE = {
    "rounds": 15,
    "clients": 3,
    "local_steps": 10,
    "data.max_features": 8,
    "encoding.max_clusters": 3,
    "encoding.pseudo_rows": 200,
    "optim.lr_g": 2e-3,
    "optim.lr_d": 2e-3,
}


@register(
    "fedavg-tabular-gan",
    config=FedAvgTabularGANConfig,
    family="tabular-gan",
    summary="FedAvg of a CTGAN generator and critic on an encoding fitted from client summaries (breast cancer, wine, CSV).",
    presets={"smoke": SMOKE},
)
class FedAvgTabularGAN(TabularGANAlgorithm[FedAvgTabularGANConfig]):
    def make_server(self) -> FedAvgGANServer:
        return FedAvgGANServer(self.new_generator(), self.new_discriminator(), self.config.clients_per_round)

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
