"""The WGAN-GP objective (Gulrajani et al. 2017): a critic with a gradient penalty instead of weight clipping.

The critic maximises E[D(real)] - E[D(fake)], so it is trained on the negation; the penalty pulls the
norm of the critic's input gradient towards 1 at random interpolates of paired real and generated
samples, a soft 1-Lipschitz constraint. Each function takes any critic ``(x, labels) -> (n,)`` (the
MLP or the convolutional discriminator) and works for conditional critics when the pairs share labels.
:func:`critic_step` is one critic update on a client's rows with GS-WGAN's small drift term
``epsilon D(real)^2`` added (as in PGGAN and GS-WGAN's code).
"""

from __future__ import annotations

import torch
from torch import nn

from fedgen_registry.data.local import LocalData

DEFAULT_PENALTY = 10.0
"""lambda of the paper, used in all of its experiments."""


def critic_loss(
    critic: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    labels: torch.Tensor | None = None,
    penalty_weight: float = DEFAULT_PENALTY,
) -> tuple[torch.Tensor, dict[str, float]]:
    """E[D(fake)] - E[D(real)] + lambda * GP, to minimise; ``fake`` is detached, pairs share ``labels``.

    Also returns the Wasserstein estimate E[D(real)] - E[D(fake)] and the penalty, for the history.
    """
    fake = fake.detach()
    distance = critic(real, labels).mean() - critic(fake, labels).mean()
    penalty = gradient_penalty(critic, real, fake, labels)
    loss = -distance + penalty_weight * penalty
    return loss, {"wasserstein": float(distance.item()), "gradient_penalty": float(penalty.item())}


def gradient_penalty(
    critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None = None
) -> torch.Tensor:
    """E[(||grad_x D(x_hat)||_2 - 1)^2] at x_hat = eps * real + (1 - eps) * fake, eps ~ U(0, 1) per sample.

    ``create_graph`` keeps the penalty differentiable with respect to the critic's parameters. Unequal
    batches are paired on their first ``min(len(real), len(fake))`` rows.
    """
    size = min(len(real), len(fake))
    real, fake = real[:size], fake[:size]
    labels = None if labels is None else labels[:size]
    eps = torch.rand(size, *([1] * (real.dim() - 1)), dtype=real.dtype)
    mixed = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)
    (gradient,) = torch.autograd.grad(critic(mixed, labels).sum(), mixed, create_graph=True)
    return ((gradient.flatten(1).norm(dim=1) - 1) ** 2).mean()


def generator_loss(critic: nn.Module, fake: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    """-E[D(G(z))]: the generator raises the critic's score of its samples."""
    return -critic(fake, labels).mean()


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
