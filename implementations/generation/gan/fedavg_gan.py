"""FedAvg-GAN: every client trains a local generator and discriminator; the server averages both.

The family algorithm of federated GANs (FedAvg of McMahan et al. 2017 applied to G and D, as in the
FL-GAN baseline of MD-GAN and the study of Fan & Liu 2020). Each round the sampled clients start from
the global G and D, run ``local_steps`` alternating updates on their own rows with fresh Adam
optimizers, and return both networks; the server replaces the global networks by the mean weighted
by client data size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import Field
from torch import nn

from fedgen_registry.federation.arrays import load_module_arrays, module_arrays, weighted_mean
from fedgen_registry.federation.protocol import Client, Message, Server, State
from fedgen_registry.objectives.gan import LocalData, OptimConfig, train_steps
from fedgen_registry.registry import register
from fedgen_registry.tasks.image_gan import ImageGANAlgorithm, ImageGANConfig

TRAIN = "train.fedavg"
ClientT = TypeVar("ClientT", bound="FedAvgGANClient")


class FedAvgGANConfig(ImageGANConfig):
    local_steps: int = Field(5, ge=1, description="Alternating D/G updates per client per round.")


def _networks(generator: nn.Module, discriminator: nn.Module) -> dict:
    return {**module_arrays(generator, "g."), **module_arrays(discriminator, "d.")}


class FedAvgGANServer(Server):
    def __init__(self, generator: nn.Module, discriminator: nn.Module, clients_per_round: int | None) -> None:
        self.generator, self.discriminator = generator, discriminator
        self.clients_per_round = clients_per_round

    def configure(self, stage: str, server_round: int, clients: Sequence[int]) -> dict[int, Message]:
        return {cid: Message(TRAIN, _networks(self.generator, self.discriminator)) for cid in clients}

    def aggregate(self, stage: str, server_round: int, replies: Mapping[int, Message]) -> dict[str, float]:
        order = sorted(replies)
        sizes = [float(replies[cid].config["num_examples"]) for cid in order]
        mean = weighted_mean([replies[cid].arrays for cid in order], sizes)
        load_module_arrays(self.generator, mean, "g.")
        load_module_arrays(self.discriminator, mean, "d.")
        return {
            key: sum(float(replies[cid].config[key]) * n for cid, n in zip(order, sizes, strict=True)) / sum(sizes)
            for key in ("d_loss", "g_loss")
        }

    def state_dict(self) -> State:
        return {"generator": self.generator.state_dict(), "discriminator": self.discriminator.state_dict()}

    def load_state_dict(self, state: State) -> None:
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])


class FedAvgGANClient(Client):
    """Stateless between rounds: its networks are overwritten by every message (no private state to keep)."""

    def __init__(
        self,
        data: LocalData,
        generator: nn.Module,
        discriminator: nn.Module,
        optim: OptimConfig,
        local_steps: int,
        latent_dim: int,
        conditional: bool,
    ) -> None:
        self.data, self.generator, self.discriminator = data, generator, discriminator
        self.optim, self.local_steps, self.latent_dim, self.conditional = optim, local_steps, latent_dim, conditional

    @classmethod
    def for_algorithm(cls: type[ClientT], algorithm: ImageGANAlgorithm[Any], client_id: int) -> ClientT:
        """This client for one of ``algorithm``'s clients: its rows, fresh networks, the local-steps recipe.

        Shared by every variant that changes only the server (or adds to the reply), so the networks
        are built in the same order, and from the same seeds, everywhere.
        """
        config = algorithm.config
        return cls(
            algorithm.client_data(client_id),
            algorithm.new_generator(),
            algorithm.new_discriminator(),
            config.optim,
            config.local_steps,
            config.model.latent_dim,
            algorithm.conditional,
        )

    def handle(self, message: Message) -> Message:
        if message.message_type != TRAIN:
            raise ValueError(f"a FedAvg-GAN client does not handle {message.message_type!r}")
        load_module_arrays(self.generator, message.arrays, "g.")
        load_module_arrays(self.discriminator, message.arrays, "d.")
        losses = train_steps(
            self.generator,
            self.discriminator,
            self.optim,
            self.data,
            self.local_steps,
            self.latent_dim,
            self.conditional,
        )
        return Message(
            TRAIN, _networks(self.generator, self.discriminator), {"num_examples": len(self.data.y), **losses}
        )


SMOKE = {"rounds": 20, "clients": 10, "local_steps": 5}


@register(
    "fedavg-gan",
    config=FedAvgGANConfig,
    family="gan",
    summary="FedAvg of generator and discriminator, weighted by client data size (MLP GAN on 8x8 digits).",
    presets={
        "smoke": SMOKE,
        "fed-gal-fan-liu-2020": {
            "rounds": 100,
            "clients": 10,
            "local_steps": 10,
            "data.partition": "dirichlet",
            "data.alpha": 0.5,
        },
    },
)
class FedAvgGAN(ImageGANAlgorithm[FedAvgGANConfig]):
    def make_server(self) -> FedAvgGANServer:
        return FedAvgGANServer(self.new_generator(), self.new_discriminator(), self.config.clients_per_round)

    def make_client(self, client_id: int) -> FedAvgGANClient:
        return FedAvgGANClient.for_algorithm(self, client_id)
