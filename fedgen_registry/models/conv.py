"""DCGAN-style convolutional networks (Radford et al. 2016) for 8x8, 28x28 and 32x32 images.

They take and give flattened images, like the MLP networks of :mod:`~fedgen_registry.models.gan`,
so every GAN step and aggregation rule works with either. Strided (transposed) 4x4 convolutions halve
or double the side; the generator uses batch norm and ReLU, the discriminator leaky ReLU and no batch
norm, so it stays a valid WGAN-GP critic (the gradient penalty is per sample, which batch norm breaks).
Conditioning follows the cGAN: a one-hot label is appended to the generator's latent and, as constant
planes, to the discriminator's input channels.
"""

from __future__ import annotations

import math

import torch
from torch import nn

MAX_RESAMPLINGS = 3


def resampling_plan(side: int) -> tuple[int, int]:
    """(start side, number of x2 steps): the most halvings (up to 3) that keep an integer side of 2 or more.

    8 -> (2, 2), 28 -> (7, 2), 32 -> (4, 3).
    """
    steps = 0
    while steps < MAX_RESAMPLINGS and side % 2 ** (steps + 1) == 0 and side // 2 ** (steps + 1) >= 2:
        steps += 1
    if steps == 0:
        raise ValueError(f"an image side of {side} cannot be halved; use the MLP networks")
    return side // 2**steps, steps


def one_hot(labels: torch.Tensor, num_classes: int, dtype: torch.dtype) -> torch.Tensor:
    """The one-hot code of each label, by comparison rather than ``functional.one_hot``: that one checks the
    label range with a data-dependent ``.item()``, which ``torch.vmap`` refuses (the vectorised client
    updates run the MLP networks under vmap)."""
    return (labels.unsqueeze(-1) == torch.arange(num_classes)).to(dtype)


def label_planes(labels: torch.Tensor | None, num_classes: int, height: int, width: int) -> torch.Tensor | None:
    """A one-hot label as ``num_classes`` constant planes of the image's size (None for an unconditional network)."""
    if num_classes == 0:
        return None
    if labels is None:
        raise ValueError("a conditional network needs labels")
    return one_hot(labels, num_classes, torch.float32)[:, :, None, None].expand(-1, -1, height, width)


def with_one_hot(vector: torch.Tensor, labels: torch.Tensor | None, num_classes: int) -> torch.Tensor:
    """``vector`` with the one-hot label appended (unchanged for an unconditional network)."""
    if num_classes == 0:
        return vector
    if labels is None:
        raise ValueError("a conditional network needs labels")
    return torch.cat([vector, one_hot(labels, num_classes, vector.dtype)], dim=-1)


class ConvDecoder(nn.Module):
    """A vector -> a flattened image in [-1, 1]: linear to a small feature map, then x2 transposed convolutions."""

    def __init__(self, in_dim: int, shape: tuple[int, int, int], width: int) -> None:
        super().__init__()
        channels, side, _ = shape
        start, steps = resampling_plan(side)
        self.start_shape = (width * 2 ** (steps - 1), start, start)
        layers: list[nn.Module] = []
        for step in range(steps - 1, 0, -1):
            layers += [
                nn.ConvTranspose2d(width * 2**step, width * 2 ** (step - 1), 4, 2, 1),
                nn.BatchNorm2d(width * 2 ** (step - 1)),
                nn.ReLU(),
            ]
        self.project = nn.Sequential(nn.Linear(in_dim, math.prod(self.start_shape)), nn.ReLU())
        self.body = nn.Sequential(*layers, nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh())

    def forward(self, vector: torch.Tensor) -> torch.Tensor:
        return self.body(self.project(vector).view(-1, *self.start_shape)).flatten(1)


class ConvEncoder(nn.Module):
    """A flattened image (and a label, as constant planes) -> a feature vector of size :attr:`out_dim`."""

    def __init__(self, shape: tuple[int, int, int], width: int, num_classes: int = 0) -> None:
        super().__init__()
        channels, side, _ = shape
        start, steps = resampling_plan(side)
        self.shape, self.num_classes = shape, num_classes
        layers: list[nn.Module] = []
        in_channels = channels + num_classes
        for step in range(steps):
            layers += [nn.Conv2d(in_channels, width * 2**step, 4, 2, 1), nn.LeakyReLU(0.2)]
            in_channels = width * 2**step
        self.body = nn.Sequential(*layers, nn.Flatten())
        self.out_dim = in_channels * start * start

    def forward(self, flat: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        image = flat.view(-1, *self.shape)
        planes = label_planes(labels, self.num_classes, self.shape[1], self.shape[2])
        return self.body(image if planes is None else torch.cat([image, planes], dim=1))


class ConvGenerator(nn.Module):
    """z (and a label) -> a flattened image in [-1, 1]."""

    def __init__(self, latent_dim: int, shape: tuple[int, int, int], width: int = 32, num_classes: int = 0) -> None:
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.decoder = ConvDecoder(latent_dim + num_classes, shape, width)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.decoder(with_one_hot(z, labels, self.num_classes))


class ConvDiscriminator(nn.Module):
    """A flattened image (and a label) -> one logit (or critic value)."""

    def __init__(self, shape: tuple[int, int, int], width: int = 32, num_classes: int = 0) -> None:
        super().__init__()
        self.encoder = ConvEncoder(shape, width, num_classes)
        self.head = nn.Linear(self.encoder.out_dim, 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.encoder(x, labels)).squeeze(1)
