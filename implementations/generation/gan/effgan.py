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

import numpy as np
from pydantic import Field, model_validator
from torch import nn

from fedgen_registry.catalog.claims import Check, Claim, ClaimRun
from fedgen_registry.federation.arrays import load_module_arrays, module_arrays
from fedgen_registry.federation.protocol import Message, Server, State
from fedgen_registry.objectives.gan import train_steps
from fedgen_registry.registry import register
from fedgen_registry.strategies.gan import (
    STABLE_GAN_RECIPE,
    FedAvgGANClient,
    MixtureGenerator,
    PairServer,
    pair_arrays,
)
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

    def sample(self, server_round: int, available: Sequence[int], rng: np.random.Generator) -> list[int]:
        """FedAvg's sample of ``clients_per_round``, but every client fine-tunes: the ensemble covers them all."""
        if server_round == self.config.rounds:
            return list(available)
        return super().sample(server_round, available, rng)

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


QUALITY = {
    **{key: value for key, value in STABLE_GAN_RECIPE.items() if key != "ema"},  # the experts are the last G, no EMA
    "rounds": 37,
    "clients": 10,
    "clients_per_round": 2,
    "local_steps": 50,
    "finetune_steps": 40,
}
"""FedAvg-GAN's quality budget (256,000 real-row visits) and round shape with the stable recipe: 36 FedAvg rounds of
2 x 50 steps x 64 rows (230,400) and a last round in which all 10 clients fine-tune 40 steps (25,600). The recipe's
generator EMA belongs to FedAvg-GAN's server: EFFGAN's ensemble is made of the clients' fine-tuned generators."""


LABEL_SKEW = {"data.partition": "shards", "data.labels_per_client": 2}


@register(
    "effgan",
    config=EFFGANConfig,
    family="gan",
    summary="EFFGAN: FedAvg GAN, then each client fine-tunes it locally; the server samples the ensemble of experts.",
    presets={
        "smoke": {"rounds": 20, "clients": 10, "local_steps": 5, "finetune_steps": 20, "data.partition": "shards"},
        "quality": QUALITY,
        "effgan-2022": {
            "rounds": 50,
            "clients": 10,
            "local_steps": 50,
            "finetune_steps": 100,
            "data.partition": "shards",
            "data.labels_per_client": 2,
        },
    },
    claim=Claim(
        statement="On label-skewed clients (2 labels each), sampling the ensemble of the clients' fine-tuned generators "
        "beats FedAvg-GAN's averaged generator at the same budget: lower KID and higher recall.",
        runs={
            "effgan": ClaimRun(implementation="effgan", overrides=LABEL_SKEW),
            "fedavg-gan": ClaimRun(implementation="fedavg-gan", overrides=LABEL_SKEW),
        },
        checks=[
            Check(metric="kid", run="effgan", op="<", against="fedavg-gan"),
            Check(metric="recall", run="effgan", op=">", against="fedavg-gan"),
        ],
        note="EFFGAN's claim (Ekblom et al. 2022) that fine-tuned local experts repair the client drift of a federated "
        "GAN on heterogeneous data, on 8x8 digits in 2-label shards; recall stands in for the coverage of every "
        "client's classes (no per-label metric is reported). FedAvg-GAN keeps its generator EMA, EFFGAN's experts none.",
    ),
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
