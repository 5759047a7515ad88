"""EFFGAN (Ekblom, Listo Zec and Mogren, 2022): an ensemble of locally fine-tuned federated GANs.

What makes the paper that paper, and all this file holds:

- rounds ``1 .. R-1`` are FedAvg of generator and discriminator (FedGAN), with as many local steps as
  one likes: the client drift this causes is repaired by the next phase, not avoided;
- in the last round every client fine-tunes the global GAN on its own rows for ``finetune_steps``
  and uploads its fine-tuned generator, which is *not* averaged: the server keeps them all as local
  experts and samples from the ensemble, drawing each sample from client ``i``'s expert with
  probability proportional to its data size, so the mixture covers the union of the clients' data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType, SimpleNamespace
from typing import Any

from pydantic import Field, model_validator
from torch import nn

from fedgen_registry.federation.arrays import load_module_arrays, module_arrays
from fedgen_registry.federation.protocol import Message, Server, State
from fedgen_registry.objectives.gan import train_steps
from fedgen_registry.registry import register
from fedgen_registry.strategies.gan import FedAvgGANClient, MixtureGenerator, PairServer, pair_arrays
from fedgen_registry.tasks.image_gan import ImageGANAlgorithm, ImageGANConfig

FINETUNE = "train.finetune"


class EFFGANConfig(ImageGANConfig):
    local_steps: int = Field(5, ge=1, description="Alternating D/G updates per client per FedAvg round.")
    finetune_steps: int = Field(20, ge=1, description="Local fine-tuning updates of the global GAN in the last round.")

    @model_validator(mode="after")
    def _has_both_phases(self) -> EFFGANConfig:
        if self.rounds < 2:
            raise ValueError("EFFGAN needs rounds >= 2: FedAvg rounds, then one fine-tuning round")
        return self


class EFFGANServer(PairServer):
    """FedAvg until the last round; then it collects the fine-tuned generators as the ensemble."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module, config: EFFGANConfig, new_generator: Any):
        super().__init__(generator, discriminator, config.clients_per_round)
        self.config, self.new_generator = config, new_generator
        self.experts: dict[int, nn.Module] = {}
        self.expert_sizes: dict[int, float] = {}

    def stages(self, server_round: int) -> Sequence[str]:
        return ("finetune",) if server_round == self.config.rounds else ("train",)

    def configure(self, stage: str, server_round: int, clients: Sequence[int]) -> dict[int, Message]:
        if stage == "train":
            return super().configure(stage, server_round, clients)
        arrays = pair_arrays(self.generator, self.discriminator)
        return {cid: Message(FINETUNE, arrays, {"steps": self.config.finetune_steps}) for cid in clients}

    def aggregate(self, stage: str, server_round: int, replies: Mapping[int, Message]) -> dict[str, float]:
        if stage == "train":
            return super().aggregate(stage, server_round, replies)
        self.experts, self.expert_sizes = {}, {}
        for cid in sorted(replies):
            expert = self.new_generator()
            load_module_arrays(expert, replies[cid].arrays, "g.")
            self.experts[cid] = expert
            self.expert_sizes[cid] = float(replies[cid].config["num_examples"])
        return {"experts": float(len(self.experts))}

    def ensemble(self) -> MixtureGenerator:
        order = sorted(self.experts)
        return MixtureGenerator([self.experts[c] for c in order], [self.expert_sizes[c] for c in order])

    def state_dict(self) -> State:
        experts = {cid: expert.state_dict() for cid, expert in self.experts.items()}
        return {**super().state_dict(), "experts": experts, "expert_sizes": dict(self.expert_sizes)}

    def load_state_dict(self, state: State) -> None:
        super().load_state_dict(state)
        self.experts = {}
        for cid, saved in state["experts"].items():
            self.experts[cid] = self.new_generator()
            self.experts[cid].load_state_dict(saved)
        self.expert_sizes = dict(state["expert_sizes"])


class EFFGANClient(FedAvgGANClient):
    """A FedAvg-GAN client that, when asked, fine-tunes the global GAN and returns its generator."""

    def handle(self, message: Message) -> Message:
        if message.message_type != FINETUNE:
            return super().handle(message)
        load_module_arrays(self.generator, message.arrays, "g.")
        load_module_arrays(self.discriminator, message.arrays, "d.")
        losses = train_steps(
            self.generator,
            self.discriminator,
            self.optim,
            self.data,
            int(message.config["steps"]),
            self.latent_dim,
            self.conditional,
        )
        return Message(FINETUNE, module_arrays(self.generator, "g."), {"num_examples": len(self.data.y), **losses})


@register(
    "effgan",
    config=EFFGANConfig,
    family="gan",
    summary="EFFGAN: FedAvg GAN, then each client fine-tunes it locally; the server samples the ensemble of experts.",
    presets={
        "smoke": {"rounds": 20, "clients": 10, "local_steps": 5, "finetune_steps": 20, "data.partition": "shards"},
        "effgan-2022": {
            "rounds": 50,
            "clients": 10,
            "local_steps": 50,
            "finetune_steps": 100,
            "data.partition": "shards",
            "data.labels_per_client": 2,
        },
    },
)
class EFFGAN(ImageGANAlgorithm[EFFGANConfig]):
    uploads = MappingProxyType({"g.": "generator-parameters", "d.": "discriminator-parameters"})
    weighted_mean_upload = False

    def make_server(self) -> EFFGANServer:
        return EFFGANServer(self.new_generator(), self.new_discriminator(), self.config, self.new_generator)

    def make_client(self, client_id: int) -> EFFGANClient:
        return EFFGANClient.for_algorithm(self, client_id)

    def finish(self, server: Server) -> dict[str, Any]:
        if not isinstance(server, EFFGANServer) or not server.experts:
            raise TypeError("EFFGAN is judged on its ensemble of fine-tuned generators, which the last round builds")
        return super().finish(SimpleNamespace(generator=server.ensemble()))  # type: ignore[arg-type]
