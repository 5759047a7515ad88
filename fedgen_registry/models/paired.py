"""Toy paired and multi-modal images made from the digits by fixed transforms, and networks conditioned on them.

Translation papers (a mask-conditioned generator, as in AsynDGAN's segmentation-mask-to-image setting)
need pairs; multi-modal papers need several views of one subject. Both are made here from the 8x8
digits without new data: the *condition* is a coarse silhouette (2x2 average pool, thresholded to
{-1, 1}: 16 values), the second *modality* a 3x3 box blur of the image (a smoother "contrast").
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional

from fedgen_registry.models.gan import MLPDiscriminator, MLPGenerator

SIDE = 8


def coarse_mask(images: torch.Tensor) -> torch.Tensor:
    """(n, 64) images in [-1, 1] -> (n, 16) silhouettes in {-1, 1}: where a 2x2 block is more ink than paper."""
    pooled = functional.avg_pool2d(images.view(-1, 1, SIDE, SIDE), 2).flatten(1)
    return torch.where(pooled > 0, 1.0, -1.0)


def blurred(images: torch.Tensor) -> torch.Tensor:
    """(n, 64) images -> (n, 64) the same images under a 3x3 box blur (edges replicated): the second modality."""
    padded = functional.pad(images.view(-1, 1, SIDE, SIDE), (1, 1, 1, 1), mode="replicate")
    return functional.avg_pool2d(padded, 3, stride=1).flatten(1)


def modalities(images: torch.Tensor, count: int) -> torch.Tensor:
    """The first ``count`` modalities of each image, side by side: (n, 64 * count)."""
    views = [images, blurred(images)][:count]
    return torch.cat(views, dim=1)


class ConditionedGenerator(nn.Module):
    """(z, condition) -> sample; the condition plays the part of the label in ``generate(..., labels)``."""

    def __init__(self, latent_dim: int, cond_dim: int, hidden: int, out_dim: int) -> None:
        super().__init__()
        self.body = MLPGenerator(latent_dim + cond_dim, hidden, out_dim)

    def forward(self, z: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        if cond is None:
            raise ValueError("a conditioned generator needs its condition")
        return self.body(torch.cat([z, cond], dim=1))


class ConditionedDiscriminator(nn.Module):
    """(sample, condition) -> one logit: the pix2pix discriminator that sees the pair."""

    def __init__(self, in_dim: int, cond_dim: int, hidden: int) -> None:
        super().__init__()
        self.body = MLPDiscriminator(in_dim + cond_dim, hidden)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        if cond is None:
            raise ValueError("a conditioned discriminator needs its condition")
        return self.body(torch.cat([x, cond], dim=1))


class ConditionSampler(nn.Module):
    """An unconditional view of a conditioned generator for evaluation: conditions cycle through ``conditions``,
    and only the first ``keep`` output values (the first modality) are returned."""

    def __init__(self, generator: nn.Module, conditions: torch.Tensor, keep: int) -> None:
        super().__init__()
        self.generator, self.keep = generator, keep
        self.register_buffer("conditions", conditions)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        index = torch.arange(len(z)) % len(self.conditions)
        return self.generator(z, self.conditions[index])[:, : self.keep]
