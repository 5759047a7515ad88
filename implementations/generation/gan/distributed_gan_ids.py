"""Distributed GAN intrusion detection (Ferdowsi and Saad, 2019): peer-to-peer GANs over neighbourhoods.

What makes the paper that paper, and all this file holds:

- no central model: every IoT device owns a generator and a discriminator and never shares either,
  nor its data; devices talk only to their neighbours (a ring here), and the engine's server is
  nothing but the relay of those neighbour-to-neighbour messages (it holds no model);
- a device's discriminator learns the normal behaviour of its own readings *and* of its neighbours':
  it is trained on its own rows against its own generated rows and against the generated rows its
  neighbours send it, and it judges those rows, returning the generator-loss gradient (error
  feedback) to their owner;
- a device's generator is updated against its own discriminator plus the feedback of its neighbours'
  discriminators, so what it learns reflects the neighbourhood, not one device;
- the discriminators are the intrusion detectors: a row they score as fake is flagged. Besides KID
  of the devices' generators, a run reports the detectors' mean ROC AUC at telling held-out normal
  rows from uniform-noise intrusions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import torch
from pydantic import Field
from sklearn.metrics import roc_auc_score
from torch import nn

from fedgen_registry.catalog.claims import Check, Claim, ClaimRun
from fedgen_registry.data.local import LocalData
from fedgen_registry.federation.protocol import Client, Message, Server, State
from fedgen_registry.objectives.gan import (
    OptimConfig,
    OwnedPair,
    discriminator_step,
    generate,
    generator_feedback,
    generator_loss,
)
from fedgen_registry.registry import register
from fedgen_registry.strategies.gan import STABLE_GAN_RECIPE, DeviceMixtureAlgorithm
from fedgen_registry.tasks.image_gan import ImageGANConfig

GENERATE, JUDGE, UPDATE = "train.generate", "train.judge_neighbours", "train.apply_feedback"
STAGES = ("generate", "judge", "update")


class DistributedGANIDSConfig(ImageGANConfig):
    hops: int = Field(
        1, ge=0, description="Ring neighbours on each side of a device (0: standalone detectors, the paper's baseline)."
    )
    intrusions: int = Field(200, ge=2, description="Uniform-noise rows each detector is tested on.")


def ring_neighbours(num_devices: int, hops: int) -> dict[int, list[int]]:
    """Each device's neighbours on a ring: ``hops`` on each side (fewer when the ring is small)."""
    return {i: sorted({(i + d) % num_devices for d in range(-hops, hops + 1)} - {i}) for i in range(num_devices)}


class RelayServer(Server):
    """Routes generated rows to neighbours and their feedback back; holds no network."""

    def __init__(self, neighbours: Mapping[int, Sequence[int]]) -> None:
        self.neighbours = {i: list(n) for i, n in neighbours.items()}
        self._fakes: dict[int, dict[str, torch.Tensor]] = {}
        self._feedback: dict[int, dict[str, torch.Tensor]] = {}

    def stages(self, server_round: int) -> Sequence[str]:
        return STAGES

    def configure(self, stage: str, server_round: int, clients: Sequence[int]) -> dict[int, Message]:
        if stage == "generate":
            return {cid: Message(GENERATE) for cid in clients}
        if stage == "judge":
            messages = {}
            for cid in clients:
                arrays = {}
                for peer in self.neighbours[cid]:
                    arrays |= {f"{key}.{peer}": value for key, value in self._fakes.get(peer, {}).items()}
                messages[cid] = Message(JUDGE, arrays)
            return messages
        return {cid: Message(UPDATE, self._feedback.get(cid, {})) for cid in clients if cid in self._fakes}

    def aggregate(self, stage: str, server_round: int, replies: Mapping[int, Message]) -> dict[str, float]:
        if stage == "generate":
            self._fakes = {cid: dict(reply.arrays) for cid, reply in replies.items()}
            return {"d_loss": float(np.mean([float(r.config["d_loss"]) for r in replies.values()]))}
        if stage == "judge":
            self._feedback = {}
            for judge, reply in replies.items():
                for name, value in reply.arrays.items():  # "feedback.<owner>"
                    owner = int(name.rsplit(".", 1)[1])
                    self._feedback.setdefault(owner, {})[f"feedback.{judge}"] = value
            return {}
        self._fakes, self._feedback = {}, {}
        return {"g_loss": float(np.mean([float(r.config["g_loss"]) for r in replies.values()]))}

    def state_dict(self) -> State:
        return {}

    def load_state_dict(self, state: State) -> None:
        self._fakes, self._feedback = {}, {}


class IoTDevice(OwnedPair, Client):
    """A device's private G and D (with Adam states); it shares generated rows and feedback only."""

    def __init__(
        self, data: LocalData, generator: nn.Module, discriminator: nn.Module, optim: OptimConfig, latent_dim: int
    ) -> None:
        OwnedPair.__init__(self, generator, discriminator, optim)
        self.data, self.latent_dim = data, latent_dim
        self._z: torch.Tensor | None = None

    def handle(self, message: Message) -> Message:
        if message.message_type == GENERATE:
            return self._generate()
        if message.message_type == JUDGE:
            return self._judge(message.arrays)
        if message.message_type == UPDATE:
            return self._update(message.arrays)
        raise ValueError(f"an IoT device does not handle {message.message_type!r}")

    def _generate(self) -> Message:
        size = self.optim.batch_size
        with torch.no_grad():
            fake = generate(self.generator, size, self.latent_dim, None)
        d_loss = discriminator_step(self.discriminator, self.opt_d, self.data, fake, None, False)
        self._z = torch.randn(size, self.latent_dim)
        with torch.no_grad():
            shared = self.generator(self._z)
        return Message(GENERATE, {"fake": shared}, {"d_loss": d_loss})

    def _judge(self, arrays: Mapping[str, torch.Tensor]) -> Message:
        feedback = {}
        for name, fake in arrays.items():
            discriminator_step(self.discriminator, self.opt_d, self.data, fake, None, False)  # monitor the neighbour
            gradient, _ = generator_feedback(self.discriminator, fake, None)
            feedback["feedback." + name.rsplit(".", 1)[1]] = gradient
        return Message(JUDGE, feedback)

    def _update(self, arrays: Mapping[str, torch.Tensor]) -> Message:
        if self._z is None:
            raise ValueError("feedback arrived before this device generated its rows")
        fake = self.generator(self._z)
        own = generator_loss(self.discriminator, fake, None)
        loss = own + sum(((fake * gradient).sum() for gradient in arrays.values()), torch.zeros(()))
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        self._z = None
        return Message(UPDATE, {}, {"g_loss": float(own.item())})

    def load_state_dict(self, state: State) -> None:
        OwnedPair.load_state_dict(self, state)
        self._z = None


QUALITY = {
    **{key: value for key, value in STABLE_GAN_RECIPE.items() if key not in ("ema", "optim.loss")},
    "rounds": 400,
    "clients": 10,
    "hops": 1,
}
"""The stable recipe with the non-saturating loss (the neighbours' error feedback is that loss's gradient) and no
EMA (the GANs are the devices'). Each round a device takes one generator step and 1 + 2 discriminator steps (its own
rows against its own and its two neighbours' generated rows): 400 rounds x 10 devices x 3 x 64 = 768,000 real-row
visits, three times FedAvg-GAN's, for 400 generator steps per device (FedAvg-GAN's global generator gets 2000, which
would take 2000 rounds of 30 client messages here). The headline is the detectors' ids_auc, not the samples."""


@register(
    "distributed-gan-ids",
    config=DistributedGANIDSConfig,
    family="gan",
    summary="Distributed GAN IDS: per-device G and D trained over ring neighbourhoods by exchanging rows and feedback.",
    presets={
        "smoke": {"rounds": 100, "clients": 6, "hops": 1},
        "quality": QUALITY,
        "distributed-gan-ids-2019": {"rounds": 1000, "clients": 10, "hops": 1, "data.partition": "dirichlet"},
    },
    claim=Claim(
        statement="Device discriminators that also learn from their ring neighbours' generated rows, with generators "
        "that take the neighbours' feedback, tell held-out normal rows from intrusions better than standalone GAN "
        "detectors: higher mean ids_auc.",
        runs={
            "distributed-gan-ids": ClaimRun(implementation="distributed-gan-ids"),
            "standalone": ClaimRun(implementation="distributed-gan-ids", overrides={"hops": 0}),
        },
        checks=[Check(metric="ids_auc", run="distributed-gan-ids", op=">", against="standalone")],
        note="The paper's claim (Ferdowsi and Saad 2019) that the distributed GAN detects intrusions more accurately "
        "than a standalone GAN-based detector, with 8x8 digits standing in for device readings and uniform-noise rows "
        "for intrusions (ids_auc: each device discriminator's ROC AUC, averaged); the paper's attacks, data and "
        "topology were not seen.",
    ),
)
class DistributedGANIDS(DeviceMixtureAlgorithm[DistributedGANIDSConfig]):
    uploads = MappingProxyType({"fake": "synthetic-samples", "feedback.": "discriminator-outputs"})
    weighted_mean_upload = False
    flower_refusal = "a client keeps what a later stage of the round needs outside state_dict(), and a Flower node rebuilds the client for every message"

    def make_server(self) -> RelayServer:
        if self.config.model.conditional:
            raise ValueError("the distributed GAN IDS models unlabelled device readings (model.conditional=false)")
        return RelayServer(ring_neighbours(self.config.clients, self.config.hops))

    def make_client(self, client_id: int) -> IoTDevice:
        config = self.config
        device = IoTDevice(
            self.client_data(client_id),
            self.new_generator(),
            self.new_discriminator(),
            config.optim,
            config.model.latent_dim,
        )
        return self.remember(client_id, device)

    def finish(self, server: Server) -> dict[str, Any]:
        metrics = super().finish(server)
        normal = torch.as_tensor(self.test.x, dtype=torch.float32)
        intrusions = torch.rand(self.config.intrusions, normal.shape[1]) * 2 - 1
        truth = np.r_[np.zeros(len(normal)), np.ones(len(intrusions))]
        aucs = []
        with torch.no_grad():
            for device in self.devices.values():
                score = -torch.cat([device.discriminator(normal), device.discriminator(intrusions)]).numpy()
                aucs.append(roc_auc_score(truth, score))
        return {**metrics, "ids_auc": float(np.mean(aucs))}
