"""GAN training steps shared by every GAN-family algorithm (non-saturating loss, Goodfellow et al. 2014).

Algorithms differ in who holds which network and what travels; the steps themselves are the same,
so they live here once: a discriminator step, a generator step, a run of local steps, and the
MD-GAN error feedback (the generator loss's gradient with respect to the generated samples).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn
from torch.nn import functional

from fedgen_registry.data.local import LocalData

GANLoss = Literal["bce", "hinge"]


class OptimConfig(BaseModel):
    """Adam settings of the DCGAN recipe (beta1 = 0.5), with rates suited to the small MLPs."""

    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(32, ge=1)
    lr_g: float = Field(1e-3, gt=0)
    lr_d: float = Field(1e-3, gt=0)
    beta1: float = Field(0.5, ge=0, lt=1)
    beta2: float = Field(0.999, ge=0, lt=1)
    loss: GANLoss = Field(
        "bce",
        description="bce: the non-saturating loss of Goodfellow et al.; hinge: the hinge loss of the "
        "spectral-norm recipe (Miyato et al. 2018), with model.spectral_norm and betas (0, 0.9).",
    )


def adam(module: nn.Module, lr: float, optim: OptimConfig) -> torch.optim.Adam:
    return torch.optim.Adam(module.parameters(), lr=lr, betas=(optim.beta1, optim.beta2))


@dataclass
class OwnedPair:
    """A client's own generator and discriminator with their persistent Adam states, checkpointed together.

    Peer-to-peer and owner-side schemes (the IDS GAN devices, FELICIA's owners) keep a whole GAN on the
    client across rounds; this holds what must survive a restart so their client files keep only their
    protocol.
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, optim: OptimConfig) -> None:
        self.generator, self.discriminator, self.optim = generator, discriminator, optim
        self.opt_g, self.opt_d = adam(generator, optim.lr_g, optim), adam(discriminator, optim.lr_d, optim)

    def state_dict(self) -> dict[str, Any]:
        return {
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_g = adam(self.generator, self.optim.lr_g, self.optim)
        self.opt_d = adam(self.discriminator, self.optim.lr_d, self.optim)
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])


def fake_labels(size: int, num_classes: int, conditional: bool) -> torch.Tensor | None:
    return torch.randint(num_classes, (size,)) if conditional else None


def generate(generator: nn.Module, size: int, latent_dim: int, labels: torch.Tensor | None) -> torch.Tensor:
    return generator(torch.randn(size, latent_dim), labels)


def discriminator_loss(
    discriminator: nn.Module,
    real: torch.Tensor,
    real_labels: torch.Tensor | None,
    fake: torch.Tensor,
    fake_labels_: torch.Tensor | None,
    loss: GANLoss = "bce",
) -> torch.Tensor:
    real_logits = discriminator(real, real_labels)
    fake_logits = discriminator(fake, fake_labels_)
    if loss == "hinge":
        return functional.relu(1.0 - real_logits).mean() + functional.relu(1.0 + fake_logits).mean()
    return functional.binary_cross_entropy_with_logits(
        real_logits, torch.ones_like(real_logits)
    ) + functional.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


def generator_loss(
    discriminator: nn.Module, fake: torch.Tensor, labels: torch.Tensor | None, loss: GANLoss = "bce"
) -> torch.Tensor:
    """Non-saturating: the generator maximises log D(G(z)); hinge: it maximises D(G(z))."""
    logits = discriminator(fake, labels)
    if loss == "hinge":
        return -logits.mean()
    return functional.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))


def discriminator_step(
    discriminator: nn.Module,
    optimizer: torch.optim.Optimizer,
    data: LocalData,
    fake: torch.Tensor,
    fake_labels_: torch.Tensor | None,
    conditional: bool,
    loss_kind: GANLoss = "bce",
) -> float:
    """One update of D on a real batch (the size of ``fake``) against the given generated samples."""
    real, real_labels = data.batch(len(fake))
    real_labels = real_labels if conditional else None
    loss = discriminator_loss(discriminator, real, real_labels, fake.detach(), fake_labels_, loss_kind)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return float(loss.item())


def train_steps(
    generator: nn.Module,
    discriminator: nn.Module,
    optim: OptimConfig,
    data: LocalData,
    steps: int,
    latent_dim: int,
    conditional: bool,
) -> dict[str, float]:
    """``steps`` alternating D and G updates with fresh Adam optimizers; returns the mean losses."""
    opt_g, opt_d = adam(generator, optim.lr_g, optim), adam(discriminator, optim.lr_d, optim)
    d_total = g_total = 0.0
    for _ in range(steps):
        labels = fake_labels(optim.batch_size, data.num_classes, conditional)
        fake = generate(generator, optim.batch_size, latent_dim, labels)
        d_total += discriminator_step(discriminator, opt_d, data, fake, labels, conditional, optim.loss)
        loss = generator_loss(discriminator, fake, labels, optim.loss)
        opt_g.zero_grad(set_to_none=True)
        loss.backward()
        opt_g.step()
        g_total += float(loss.item())
    return {"d_loss": d_total / steps, "g_loss": g_total / steps}


def generator_feedback(
    discriminator: nn.Module, fake: torch.Tensor, labels: torch.Tensor | None
) -> tuple[torch.Tensor, float]:
    """MD-GAN's error feedback: d(generator loss)/d(samples), computed by a worker that holds no generator."""
    samples = fake.detach().requires_grad_(True)
    loss = generator_loss(discriminator, samples, labels)
    (gradient,) = torch.autograd.grad(loss, samples)
    return gradient, float(loss.item())
