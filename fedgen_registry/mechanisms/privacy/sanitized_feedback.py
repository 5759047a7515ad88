"""GS-WGAN's sanitised generator feedback (Chen et al. 2020): the one place where GS-WGAN touches privacy.

The gradient that a client's critic passes back to the central generator, per generated sample,
clipped and noised; the critic's own updates stay noise-free.
"""

from __future__ import annotations

import torch
from torch import nn


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
