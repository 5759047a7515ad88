"""WGAN-GP losses (Gulrajani et al. 2017) and GS-WGAN's sanitised generator feedback (Chen et al. 2020).

The critic minimises ``D(fake) - D(real)`` plus a gradient penalty ``lambda (||grad D(x_hat)|| - 1)^2`` on
random interpolates and a small drift term ``epsilon D(real)^2`` (as in PGGAN and GS-WGAN's code); the
generator minimises ``-D(G(z))``. :func:`sanitized_feedback` is the one place where GS-WGAN touches privacy:
the gradient that the critic passes back to the generator, per generated sample, clipped and noised.
"""

from __future__ import annotations

import torch
from torch import nn

from fedgen_registry.data.local import LocalData


def gradient_penalty(
    critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None
) -> torch.Tensor:
    """``mean((||d D(x_hat) / d x_hat|| - 1)^2)`` on points between real and generated rows."""
    size = min(len(real), len(fake))
    mix = torch.rand(size, 1)
    points = (mix * real[:size] + (1 - mix) * fake[:size]).requires_grad_(True)
    scores = critic(points, None if labels is None else labels[:size])
    (gradient,) = torch.autograd.grad(scores.sum(), points, create_graph=True)
    return ((gradient.norm(dim=1) - 1) ** 2).mean()


def critic_step(
    critic: nn.Module,
    optimizer: torch.optim.Optimizer,
    data: LocalData,
    fake: torch.Tensor,
    fake_labels: torch.Tensor | None,
    conditional: bool,
    gp_weight: float,
    drift_weight: float,
) -> float:
    """One WGAN-GP update of the critic on a real batch against the given generated samples; returns the loss."""
    real, real_labels = data.batch(len(fake))
    real_labels = real_labels if conditional else None
    real_scores = critic(real, real_labels)
    loss = critic(fake.detach(), fake_labels).mean() - real_scores.mean()
    loss = loss + gp_weight * gradient_penalty(critic, real, fake.detach(), real_labels)
    loss = loss + drift_weight * (real_scores**2).mean()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return float(loss.item())


def sanitized_feedback(
    critic: nn.Module, fake: torch.Tensor, labels: torch.Tensor | None, clip: float, noise_multiplier: float
) -> tuple[torch.Tensor, float]:
    """GS-WGAN's sanitised gradient of the generator loss ``-mean D(fake)`` with respect to the samples.

    Each sample's gradient ``-grad D(fake_i)`` is clipped to L2 norm ``clip``, Gaussian noise of std
    ``2 * clip * noise_multiplier`` is added (sensitivity ``2 C`` under replace-one neighbours, as GS-WGAN's
    code takes it), and the result is divided by the batch size, the mean's factor. Only this crosses from the
    critic to the generator; the critic's own updates stay noise-free.
    """
    samples = fake.detach().requires_grad_(True)
    scores = critic(samples, labels)
    (gradient,) = torch.autograd.grad(-scores.sum(), samples)
    norms = gradient.norm(dim=1, keepdim=True)
    clipped = gradient * torch.clamp(clip / (norms + 1e-12), max=1.0)
    noised = clipped + torch.randn_like(clipped) * (2 * clip * noise_multiplier)
    return noised / len(samples), float(-scores.mean().item())
