"""Brainstorming GANs (Ferdowsi and Saad, 2020): agents exchange generated samples, never parameters.

What makes the paper that paper, and all this file holds: there is no central model. Every agent runs
its own GAN on its own private rows and, each round, sends samples of its generator to its neighbours
in a communication graph; a neighbour mixes the samples it received into the *real* side of its
discriminator's training data. What one agent's generator learnt from its rows thus reaches the others
through their discriminators, and the agents move towards the distribution of the union of the data.
The server here is only the network: it relays this round's samples along the graph's edges and holds
no model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType, SimpleNamespace
from typing import Any, Literal

import torch
from pydantic import Field, model_validator
from torch import nn

from fedgen_registry.catalog.claims import Check, Claim, ClaimRun
from fedgen_registry.data.local import LocalData
from fedgen_registry.federation.protocol import Client, Message, Server, State
from fedgen_registry.objectives.gan import OptimConfig, generate, train_steps
from fedgen_registry.registry import register
from fedgen_registry.strategies.gan import STABLE_GAN_RECIPE
from fedgen_registry.tasks.image_gan import ImageGANAlgorithm, ImageGANConfig

SHARE = "query.brainstorm"
TRAIN = "train.brainstorm"


class BGANConfig(ImageGANConfig):
    local_steps: int = Field(5, ge=1, description="Alternating D/G updates per agent per round.")
    shared_samples: int = Field(64, ge=1, description="Generated samples an agent sends to each neighbour per round.")
    topology: Literal["ring", "complete", "isolated"] = Field(
        "ring", description="Who talks to whom (isolated: standalone GANs, the baseline the paper compares with)."
    )
    evaluate_agent: int = Field(0, ge=0, description="The agent whose generator the final evaluation samples.")

    @model_validator(mode="after")
    def _consistent(self) -> BGANConfig:
        if self.model.conditional:
            raise ValueError("BGAN agents are unconditional GANs: leave model.conditional false")
        if self.evaluate_agent >= self.clients:
            raise ValueError(f"evaluate_agent {self.evaluate_agent} is not one of the {self.clients} agents")
        return self


def neighbours(agent: int, agents: Sequence[int], topology: str) -> list[int]:
    """The agents that ``agent`` hears from: its two ring neighbours, everyone else, or no one."""
    if topology == "isolated":
        return []
    if topology == "complete":
        return [other for other in agents if other != agent]
    position = agents.index(agent)
    return sorted({agents[(position - 1) % len(agents)], agents[(position + 1) % len(agents)]} - {agent})


class BrainstormRelay(Server):
    """The network between agents: relays generated samples along the graph; holds no model."""

    def __init__(self, config: BGANConfig, sample_dim: int) -> None:
        self.config, self.sample_dim = config, sample_dim
        self.clients_per_round = config.clients_per_round
        self._shared: dict[int, torch.Tensor] = {}

    def stages(self, server_round: int) -> Sequence[str]:
        return ("train",) if self.config.topology == "isolated" else ("share", "train")

    def configure(self, stage: str, server_round: int, clients: Sequence[int]) -> dict[int, Message]:
        if stage == "share":
            return {cid: Message(SHARE, config={"count": self.config.shared_samples}) for cid in clients}
        everyone = list(range(self.config.clients))
        messages = {}
        for cid in clients:
            heard = [self._shared[n] for n in neighbours(cid, everyone, self.config.topology) if n in self._shared]
            messages[cid] = Message(TRAIN, {"samples": torch.cat(heard) if heard else torch.zeros(0, self.sample_dim)})
        return messages

    def aggregate(self, stage: str, server_round: int, replies: Mapping[int, Message]) -> dict[str, float]:
        if stage == "share":
            self._shared = {cid: reply.arrays["samples"] for cid, reply in replies.items()}
            return {}
        self._shared = {}
        return {key: sum(float(r.config[key]) for r in replies.values()) / len(replies) for key in ("d_loss", "g_loss")}

    def state_dict(self) -> State:
        return {}

    def load_state_dict(self, state: State) -> None:
        return None


class BrainstormAgent(Client):
    """A whole GAN on private rows; the neighbours' latest samples join the real side of its discriminator."""

    def __init__(
        self, data: LocalData, generator: nn.Module, discriminator: nn.Module, optim: OptimConfig, config: BGANConfig
    ) -> None:
        self.data, self.generator, self.discriminator, self.optim = data, generator, discriminator, optim
        self.local_steps, self.latent_dim = config.local_steps, config.model.latent_dim
        self.borrowed = torch.zeros(0, data.x.shape[1])

    def pool(self) -> LocalData:
        """What the discriminator treats as real: the agent's own rows and the samples its neighbours sent."""
        filler = torch.full((len(self.borrowed),), -1, dtype=self.data.y.dtype)
        return LocalData(
            torch.cat([self.data.x, self.borrowed]), torch.cat([self.data.y, filler]), self.data.num_classes
        )

    def handle(self, message: Message) -> Message:
        if message.message_type == SHARE:
            with torch.no_grad():
                samples = generate(self.generator, int(message.config["count"]), self.latent_dim, None)
            return Message(SHARE, {"samples": samples})
        if message.message_type != TRAIN:
            raise ValueError(f"a BGAN agent does not handle {message.message_type!r}")
        self.borrowed = message.arrays["samples"].clone()
        losses = train_steps(
            self.generator, self.discriminator, self.optim, self.pool(), self.local_steps, self.latent_dim, False
        )
        return Message(TRAIN, config=losses)

    def state_dict(self) -> State:
        return {
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "borrowed": self.borrowed,
        }

    def load_state_dict(self, state: State) -> None:
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.borrowed = state["borrowed"]


QUALITY = {
    **{key: value for key, value in STABLE_GAN_RECIPE.items() if key != "ema"},  # no server generator to average
    "rounds": 40,
    "clients": 10,
    "local_steps": 50,
    "shared_samples": 64,
}
"""The stable recipe at FedAvg-GAN's generator progress: the judged agent's generator makes 40 x 50 updates, as many
as FedAvg-GAN's global generator. Every agent trains every round, so the batches drawn are 10 x 2000 x 64 =
1,280,000, five times FedAvg-GAN's (and the meter counts the borrowed samples in them too); at FedAvg-GAN's 256,000
an agent would get 400 updates, where a GAN on the digits is still blurred. The recipe's generator EMA is the
FedAvg-GAN server's; here every agent keeps its own GAN."""


@register(
    "bgan",
    config=BGANConfig,
    family="gan",
    summary="Brainstorming GAN: peer agents swap generated samples, which their discriminators treat as real.",
    presets={
        "smoke": {"rounds": 20, "clients": 5, "local_steps": 5},
        "quality": QUALITY,
        "bgan-brainstorming-2020": {"rounds": 200, "clients": 10, "local_steps": 5, "topology": "ring"},
    },
    claim=Claim(
        statement="An agent whose discriminator also takes its ring neighbours' generated samples for real data "
        "generates better samples than the same agent trained alone on its own rows: lower KID and higher recall.",
        runs={
            "bgan": ClaimRun(implementation="bgan"),
            "standalone": ClaimRun(implementation="bgan", overrides={"topology": "isolated"}),
        },
        checks=[
            Check(metric="kid", run="bgan", op="<", against="standalone"),
            Check(metric="recall", run="bgan", op=">", against="standalone"),
        ],
        note="BGAN's claim (Ferdowsi and Saad 2020, abstract) that brainstorming yields higher accuracy than a standalone "
        "GAN, for agent 0 of 10 on IID 8x8 digits (about 144 rows each); the paper's JSD/FID and its comparison with "
        "other distributed GANs are not run.",
    ),
)
class BGAN(ImageGANAlgorithm[BGANConfig]):
    uploads = MappingProxyType({"samples": "synthetic-samples"})
    weighted_mean_upload = False
    flower_refusal = (
        "its evaluation reads the clients' own generators, which live on the Flower nodes, not on the server"
    )

    def __init__(self, config: BGANConfig, run_dir: Path) -> None:
        super().__init__(config, run_dir)
        self.agents: dict[int, BrainstormAgent] = {}

    def make_server(self) -> BrainstormRelay:
        return BrainstormRelay(self.config, self.train.x.shape[1])

    def make_client(self, client_id: int) -> BrainstormAgent:
        agent = BrainstormAgent(
            self.client_data(client_id), self.new_generator(), self.new_discriminator(), self.config.optim, self.config
        )
        self.agents[client_id] = agent
        return agent

    def finish(self, server: Server) -> dict[str, Any]:
        """There is no central generator: one agent's generator is judged (each has seen the others' knowledge)."""
        return super().finish(SimpleNamespace(generator=self.agents[self.config.evaluate_agent].generator))
