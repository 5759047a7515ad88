"""Small MLP generator and discriminator for flattened images (8x8 digits by default), optionally conditional.

Conditioning concatenates a one-hot label to the input of each network, the plain cGAN of Mirza and
Osindero; ``num_classes=0`` gives the unconditional pair. ``architecture="conv"`` builds the DCGAN-style
pair of :mod:`~fedgen_registry.models.conv` instead, for 28x28 and 32x32 images; both
take and give flattened images, so every GAN step and aggregation rule works with either.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from fedgen_registry.models.conv import ConvDiscriminator, ConvGenerator, with_one_hot


class ModelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latent_dim: int = Field(32, ge=1)
    hidden: int = Field(128, ge=1)
    conditional: bool = Field(False, description="Condition both networks on the class label (cGAN).")
    architecture: Literal["mlp", "conv"] = Field("mlp", description="MLP networks, or DCGAN-style convolutions.")
    width: int = Field(32, ge=1, description="Channels of the first convolution (conv only; doubled per halving).")
    spectral_norm: bool = Field(
        False,
        description="Spectral normalisation of the MLP discriminator's layers (Miyato et al. 2018): the stable recipe.",
    )

    @model_validator(mode="after")
    def _spectral_norm_on_mlp(self) -> ModelConfig:
        if self.spectral_norm and self.architecture != "mlp":
            raise ValueError("model.spectral_norm applies to the MLP discriminator; use model.architecture=mlp")
        return self


class MLPGenerator(nn.Module):
    """z (and a label) -> a flattened image in [-1, 1]."""

    def __init__(self, latent_dim: int, hidden: int, out_dim: int, num_classes: int = 0) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.net = nn.Sequential(
            nn.Linear(latent_dim + num_classes, hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, out_dim),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(with_one_hot(z, labels, self.num_classes))


class MLPDiscriminator(nn.Module):
    """A flattened image (and a label) -> one logit (real vs generated)."""

    def __init__(self, in_dim: int, hidden: int, num_classes: int = 0, spectral: bool = False) -> None:
        super().__init__()
        self.num_classes = num_classes
        layers = [nn.Linear(in_dim + num_classes, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, 1)]
        if spectral:
            layers = [spectral_norm(layer) for layer in layers]
        self.net = nn.Sequential(layers[0], nn.LeakyReLU(0.2), layers[1], nn.LeakyReLU(0.2), layers[2])

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(with_one_hot(x, labels, self.num_classes)).squeeze(1)


def _image_shape(data_dim: int, shape: tuple[int, ...] | None) -> tuple[int, int, int]:
    """The (channels, height, width) the conv networks need; it must describe ``data_dim`` values."""
    if shape is None or len(shape) != 3 or math.prod(shape) != data_dim:
        raise ValueError(
            f"conv networks need the image shape (channels, height, width) of {data_dim} values, got {shape}"
        )
    return (int(shape[0]), int(shape[1]), int(shape[2]))


def build_generator(
    config: ModelConfig, data_dim: int, num_classes: int, shape: tuple[int, ...] | None = None
) -> nn.Module:
    classes = num_classes if config.conditional else 0
    if config.architecture == "conv":
        return ConvGenerator(config.latent_dim, _image_shape(data_dim, shape), config.width, classes)
    return MLPGenerator(config.latent_dim, config.hidden, data_dim, classes)


def build_discriminator(
    config: ModelConfig, data_dim: int, num_classes: int, shape: tuple[int, ...] | None = None
) -> nn.Module:
    classes = num_classes if config.conditional else 0
    if config.architecture == "conv":
        return ConvDiscriminator(_image_shape(data_dim, shape), config.width, classes)
    return MLPDiscriminator(data_dim, config.hidden, classes, config.spectral_norm)
