"""AsynDGAN (Chang et al., CVPR 2020), Multi-modal AsynDGAN (2020) and Distributed Synthetic Learning (2023).

What makes these papers these papers, and all this file holds:

- one mask-conditioned generator at the server (pix2pix-style: condition -> image) and one
  discriminator per medical site, judging (condition, image) pairs against the site's own pairs;
- each round a site first sends a batch of its *conditions* (the segmentation masks, which the papers
  treat as shareable; here coarse digit silhouettes), the server generates images from them, and the
  site returns its discriminator's verdict plus the gradient of the L1 reconstruction term, which only
  the site can compute because it needs the real image: the generator loss is the **sum over sites**
  of (adversarial + lambda_L1 * L1), as in the authors' code;
- multi-modal variant: the generator outputs every modality; a site that lacks one judges and
  reconstructs only the modalities it holds (its discriminator sees the missing one as zeros), so the
  generator fills in what that site cannot show;
- Distributed Synthetic Learning's continual setting: ``schedule="sequential"`` visits the sites one
  after another (each for an equal share of the rounds) instead of all at once.

Images, weights and real masks' pairs never leave a site; only conditions, verdicts and L1 gradients do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType, SimpleNamespace
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field, model_validator
from torch.nn import functional

from fedgen_registry.catalog.claims import ClaimRun, parity_claim
from fedgen_registry.data.local import LocalData
from fedgen_registry.federation.protocol import Message, Server
from fedgen_registry.models.paired import (
    ConditionedDiscriminator,
    ConditionedGenerator,
    ConditionSampler,
    coarse_mask,
    modalities,
)
from fedgen_registry.objectives.gan import OptimConfig, generate
from fedgen_registry.registry import register
from fedgen_registry.strategies.central import (
    JUDGE,
    CentralGANConfig,
    CentralGeneratorServer,
    DiscriminatorClient,
    Draw,
    judge,
)
from fedgen_registry.strategies.gan import STABLE_GAN_RECIPE
from fedgen_registry.tasks.image_gan import ImageGANAlgorithm

CONDITIONS = "query.conditions"
PIXELS = 64
MASK = 16


class AsynDGANConfig(CentralGANConfig):
    l1_weight: float = Field(
        100.0, ge=0, description="lambda_L1 of the site's reconstruction term (authors' code: 100)."
    )
    modalities: int = Field(1, ge=1, le=2, description="Modalities the generator outputs (2: image and its blur).")
    missing_modality_sites: int = Field(
        0, ge=0, description="How many sites (the first ones) lack the second modality."
    )
    schedule: Literal["parallel", "sequential"] = Field(
        "parallel", description="All sites every round, or one site after another (DSL's continual setting)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> AsynDGANConfig:
        if self.model.conditional:
            raise ValueError("AsynDGAN conditions on masks, not labels: leave model.conditional false")
        if self.missing_modality_sites and (self.modalities < 2 or self.missing_modality_sites >= self.clients):
            raise ValueError("missing_modality_sites needs modalities=2 and at least one site holding both")
        return self


class AsynDGANServer(CentralGeneratorServer):
    """The central generator; per round it asks each site for conditions, then sends images generated from them."""

    config: AsynDGANConfig

    def __init__(self, generator: torch.nn.Module, config: AsynDGANConfig) -> None:
        super().__init__(generator, config, num_classes=0)
        self._conditions: dict[int, torch.Tensor] = {}

    def sample(self, server_round: int, available: Sequence[int], rng: np.random.Generator) -> list[int]:
        if self.config.schedule == "parallel":
            return super().sample(server_round, available, rng)
        return [available[min((server_round - 1) * len(available) // self.config.rounds, len(available) - 1)]]

    def stages(self, server_round: int) -> Sequence[str]:
        return ("conditions", "train")

    def configure(self, stage: str, server_round: int, clients: Sequence[int]) -> dict[int, Message]:
        if stage == "conditions":
            return {cid: Message(CONDITIONS, config={"size": self.config.optim.batch_size}) for cid in clients}
        return super().configure(stage, server_round, clients)

    def draw(self, clients: Sequence[int]) -> dict[int, Draw]:
        """Images generated from each site's own conditions (fresh noise for the batch it trains on)."""
        latent, draws = self.config.model.latent_dim, {}
        for cid in clients:
            cond = self._conditions[cid]
            with torch.no_grad():
                fake_d = generate(self.generator, len(cond), latent, cond)
            draws[cid] = Draw(fake_d, generate(self.generator, len(cond), latent, cond), cond, cond)
        return draws

    def objective(self, logits: torch.Tensor, replies: Sequence[Message]) -> torch.Tensor:
        """The sum over sites of each site's non-saturating loss."""
        per_site = functional.binary_cross_entropy_with_logits(logits, torch.ones_like(logits), reduction="none")
        return per_site.mean(dim=1).sum()

    def feedback(self, order: Sequence[int], replies: Mapping[int, Message]) -> tuple[torch.Tensor, dict[str, float]]:
        adversarial, metrics = super().feedback(order, replies)
        reconstruction = torch.stack([replies[cid].arrays["l1_grad"] for cid in order])
        metrics["l1"] = sum(float(replies[cid].config["l1"]) for cid in order) / len(order)
        return adversarial + reconstruction, metrics

    def aggregate(self, stage: str, server_round: int, replies: Mapping[int, Message]) -> dict[str, float]:
        if stage == "conditions":
            self._conditions = {cid: reply.arrays["cond"] for cid, reply in replies.items()}
            return {}
        return super().aggregate(stage, server_round, replies)


class AsynDGANSite(DiscriminatorClient):
    """A site's (mask, image) pairs, its modalities, and its private pair discriminator."""

    def __init__(
        self, data: LocalData, available: torch.Tensor, discriminator: torch.nn.Module, optim: OptimConfig, l1: float
    ) -> None:
        super().__init__(LocalData(data.x * available, data.y, data.num_classes), discriminator, optim, True)
        self.available, self.l1_weight = available, l1
        self._pending = torch.zeros(0, dtype=torch.long)

    def handle(self, message: Message) -> Message:
        if message.message_type == CONDITIONS:
            self._pending = torch.randint(len(self.data.y), (int(message.config["size"]),))
            return Message(CONDITIONS, {"cond": self.data.y[self._pending].clone()})
        if message.message_type != JUDGE:
            raise ValueError(f"an AsynDGAN site does not handle {message.message_type!r}")
        arrays = message.arrays
        held = self.available
        d_loss = self.train_discriminator(arrays["fake_d"] * held, arrays["cond_d"], int(message.config["disc_steps"]))
        logits, grads = judge(self.discriminator, arrays["fake_g"] * held, arrays["cond_g"])
        l1_grad, l1 = self._reconstruction(arrays["fake_g"])
        return Message(
            JUDGE,
            {"logits": logits, "logit_grad": grads * held, "l1_grad": l1_grad},
            {"d_loss": d_loss, "l1": l1, "num_examples": len(self.data.y)},
        )

    def _reconstruction(self, fake: torch.Tensor) -> tuple[torch.Tensor, float]:
        """lambda_L1 * mean |G(mask) - image| over the modalities held, and its gradient w.r.t. G(mask)."""
        samples = fake.detach().requires_grad_(True)
        error = (samples - self.data.x[self._pending]).abs() * self.available
        loss = self.l1_weight * error.sum() / (len(samples) * self.available.sum())
        (gradient,) = torch.autograd.grad(loss, samples)
        return gradient, float(loss.item())


SMOKE = {"rounds": 150, "clients": 4, "l1_weight": 10.0}
RECIPE_KEYS = ("model.hidden", "optim.lr_g", "optim.lr_d", "optim.beta1", "optim.beta2", "optim.batch_size")
"""What of the stable GAN recipe applies here: the pair discriminator has no spectral norm and the loss is the paper's."""
QUALITY = {
    **{key: STABLE_GAN_RECIPE[key] for key in RECIPE_KEYS},
    "rounds": 400,
    "clients": 10,
    "l1_weight": 100.0,
}
"""FedAvg-GAN's quality budget: 400 rounds x 10 sites x one discriminator step on 64 rows = 256,000 real-row visits
(the L1 term reads the same 64 rows per site). Of the stable recipe, the width and Adam settings apply: the pair
discriminator has no spectral norm, the loss is the paper's (non-saturating + lambda_L1 x L1, lambda 100 as in the
authors' code) and the generator is the server's own, with no EMA."""


@register(
    "asyndgan",
    config=AsynDGANConfig,
    family="gan",
    summary="AsynDGAN: mask-conditioned central generator trained from the sites' discriminator and L1 feedback.",
    presets={
        "smoke": SMOKE,
        "quality": QUALITY,
        "asyndgan-2020": {"rounds": 2000, "clients": 4, "l1_weight": 100.0},
        "multimodal-asyndgan-2020": {"rounds": 2000, "clients": 4, "modalities": 2, "missing_modality_sites": 2},
        "dsl-nature-comms-2023": {
            "rounds": 2000,
            "clients": 4,
            "modalities": 2,
            "missing_modality_sites": 1,
            "schedule": "sequential",
        },
    },
    claim=parity_claim(
        statement="A mask-conditioned central generator learned from the verdicts and L1 feedback of 10 sites' "
        "discriminators comes within 0.02 KID and 0.8x recall of the same generator learned from one site holding "
        "every row, at the same number of generator steps.",
        runs={
            "asyndgan": ClaimRun(implementation="asyndgan"),
            "one-site": ClaimRun(implementation="asyndgan", overrides={"clients": 1}),
        },
        note="A proxy of AsynDGAN's claim (Chang et al. 2020, the authors' README) that a segmentation model trained on "
        "its synthetic images does almost as well as one trained on all the real data: the downstream model is not "
        "run, so the generator itself is compared with one trained at a single site holding all the rows, on 8x8 "
        "digits conditioned on 4x4 silhouettes (KID of images generated from held-out masks).",
    ),
)
class AsynDGAN(ImageGANAlgorithm[AsynDGANConfig]):
    uploads = MappingProxyType(
        {"cond": "embeddings", "logits": "discriminator-outputs", "logit_grad": "gradients", "l1_grad": "gradients"}
    )
    weighted_mean_upload = False
    flower_refusal = "a client keeps what a later stage of the round needs outside state_dict(), and a Flower node rebuilds the client for every message"

    @property
    def sample_dim(self) -> int:
        return PIXELS * self.config.modalities

    def make_server(self) -> Server:
        model = self.config.model
        return AsynDGANServer(ConditionedGenerator(model.latent_dim, MASK, model.hidden, self.sample_dim), self.config)

    def make_client(self, client_id: int) -> AsynDGANSite:
        images = torch.as_tensor(self.train.x[self.parts[client_id]])
        data = LocalData(modalities(images, self.config.modalities), coarse_mask(images), self.train.num_classes)
        available = torch.ones(self.sample_dim)
        if client_id < self.config.missing_modality_sites:
            available[PIXELS:] = 0.0
        discriminator = ConditionedDiscriminator(self.sample_dim, MASK, self.config.model.hidden)
        return AsynDGANSite(data, available, discriminator, self.config.optim, self.config.l1_weight)

    def finish(self, server: Server) -> dict[str, Any]:
        """Judged like every image GAN: first-modality images generated from the held-out split's masks."""
        if not isinstance(server, AsynDGANServer):
            raise TypeError(f"{type(server).__name__} is not an AsynDGAN server")
        conditions = coarse_mask(torch.as_tensor(self.test.x))
        return super().finish(SimpleNamespace(generator=ConditionSampler(server.generator, conditions, PIXELS)))
