"""FedGP (Triastcyn and Faltings, 2019): federate the generator only, and release artificial labelled data.

What makes the paper that paper, and all this file holds: the GAN's *generator* is trained by FedAvg
while every client's *discriminator* stays private on the client (it is the part that touches real
data, and the paper releases data drawn from the generator, not a model trained on the real data).
Each round the sampled clients receive the global generator, run alternating updates against their
own persistent discriminator on their own rows, and return the generator alone; the server replaces it
by the mean weighted by client data size. The presets train a conditional generator, so the release
is labelled (the shared evaluation then also reports the label accuracy of the samples).
"""

from __future__ import annotations

from types import MappingProxyType

from pydantic import Field
from torch import nn

from fedgen_registry.federation.arrays import load_module_arrays, module_arrays
from fedgen_registry.federation.protocol import Message, State
from fedgen_registry.registry import register
from fedgen_registry.strategies.fedavg import FedAvg, Network
from fedgen_registry.strategies.gan import GAN_LOSSES, LocalGANClient
from fedgen_registry.tasks.image_gan import ImageGANAlgorithm, ImageGANConfig

TRAIN = "train.fedgp"


class FedGPConfig(ImageGANConfig):
    local_steps: int = Field(5, ge=1, description="Alternating D/G updates per client per round.")


class FedGPServer(FedAvg):
    """FedAvg of the global generator only; there is no global discriminator."""

    def __init__(self, generator: nn.Module, clients_per_round: int | None) -> None:
        super().__init__({"generator": (Network(generator), "g.")}, clients_per_round, GAN_LOSSES, TRAIN)
        self.generator = generator


class FedGPClient(LocalGANClient):
    """Its discriminator is private state that persists across rounds; its generator is overwritten each round."""

    def handle(self, message: Message) -> Message:
        if message.message_type != TRAIN:
            raise ValueError(f"a FedGP client does not handle {message.message_type!r}")
        load_module_arrays(self.generator, message.arrays, "g.")
        losses = self.train()
        return Message(TRAIN, module_arrays(self.generator, "g."), {"num_examples": len(self.data.y), **losses})

    def state_dict(self) -> State:
        return {"discriminator": self.discriminator.state_dict()}

    def load_state_dict(self, state: State) -> None:
        self.discriminator.load_state_dict(state["discriminator"])


@register(
    "fedgp",
    config=FedGPConfig,
    family="gan",
    summary="FedGP: FedAvg of the generator only; discriminators stay private; release labelled synthetic data.",
    presets={
        "smoke": {"rounds": 20, "clients": 10, "local_steps": 5, "model.conditional": True},
        "fedgp-triastcyn-2019": {"rounds": 100, "clients": 10, "local_steps": 5, "model.conditional": True},
    },
)
class FedGP(ImageGANAlgorithm[FedGPConfig]):
    uploads = MappingProxyType({"g.": "generator-parameters"})
    weighted_mean_upload = True

    def make_server(self) -> FedGPServer:
        return FedGPServer(self.new_generator(), self.config.clients_per_round)

    def make_client(self, client_id: int) -> FedGPClient:
        return FedGPClient.for_algorithm(self, client_id)
