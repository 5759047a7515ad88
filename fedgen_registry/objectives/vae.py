"""Variational autoencoders (Kingma and Welling 2014) and their conditional form (CVAE, Sohn et al. 2015).

The decoder is Gaussian with one standard deviation in data units, fixed or learned with the network
(a calibrated decoder: the ELBO's own optimum sets it to the reconstruction error, where a fixed value
weighs reconstruction against the KL term by hand), so the negative ELBO is a scaled squared error plus
the KL divergence of the approximate posterior from N(0, I), both in nats per image (the Gaussian's
normalising constant is included, so the value is a true bound for every standard deviation). Samples
are the decoder means of latents drawn from the prior, or from a narrower N(0, T^2 I) at a
``temperature`` T < 1, which trades diversity (recall) for typical samples (precision) and leaves
training and the bound untouched. The CVAE appends the one-hot label to the encoder's input (as planes
for the convolutional encoder) and to the decoder's latent. ``beta`` weighs the KL term (beta-VAE,
Higgins et al. 2017; 1 gives the ELBO).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from fedgen_registry.models.conv import ConvDecoder, ConvEncoder, with_one_hot


class VAEConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    architecture: Literal["mlp", "conv"] = Field("mlp", description="MLP (8x8 digits) or DCGAN-style convolutions.")
    latent_dim: int = Field(8, ge=1)
    hidden: int = Field(256, ge=1, description="MLP hidden units, or the base channel width of the conv networks.")
    conditional: bool = Field(False, description="Condition encoder and decoder on the class label (CVAE).")
    decoder_std: float = Field(
        0.2, gt=0, description="Standard deviation of the Gaussian decoder, in data units (the start, if learned)."
    )
    learn_decoder_std: bool = Field(
        False, description="Learn the decoder's standard deviation with the network, on the same ELBO."
    )
    beta: float = Field(1.0, gt=0, description="Weight of the KL term (1: the ELBO).")
    temperature: float = Field(
        1.0, gt=0, description="Standard deviation of the latents decoded at sampling time (1: the prior's)."
    )


class MLPEncoder(nn.Module):
    """A flattened image (and a label) -> ``hidden`` features."""

    def __init__(self, data_dim: int, hidden: int, num_classes: int = 0) -> None:
        super().__init__()
        self.num_classes, self.out_dim = num_classes, hidden
        self.body = nn.Sequential(
            nn.Linear(data_dim + num_classes, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
        )

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.body(with_one_hot(x, labels, self.num_classes))


def _mlp_decoder(in_dim: int, hidden: int, data_dim: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(in_dim, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, data_dim),
        nn.Tanh(),
    )


class VAE(nn.Module):
    """Encoder to (mu, log variance), reparameterised latent, decoder to a flattened image in [-1, 1]."""

    def __init__(self, config: VAEConfig, shape: tuple[int, int, int], num_classes: int = 0) -> None:
        super().__init__()
        self.num_classes, self.latent_dim = num_classes, config.latent_dim
        decoder_in = config.latent_dim + num_classes
        self.encoder: MLPEncoder | ConvEncoder
        if config.architecture == "conv":
            self.encoder = ConvEncoder(shape, config.hidden, num_classes)
            self.decoder: nn.Module = ConvDecoder(decoder_in, shape, config.hidden)
        else:
            self.encoder = MLPEncoder(math.prod(shape), config.hidden, num_classes)
            self.decoder = _mlp_decoder(decoder_in, config.hidden, math.prod(shape))
        self.posterior = nn.Linear(self.encoder.out_dim, 2 * config.latent_dim)
        self.log_decoder_std = (
            nn.Parameter(torch.tensor(math.log(config.decoder_std))) if config.learn_decoder_std else None
        )

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The posterior's mean and log variance."""
        mu, log_var = self.posterior(self.encoder(x, labels)).chunk(2, dim=1)
        return mu, log_var

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.decoder(with_one_hot(z, labels, self.num_classes))


def negative_elbo(
    model: VAE, x: torch.Tensor, labels: torch.Tensor | None, decoder_std: float, beta: float = 1.0
) -> tuple[torch.Tensor, dict[str, float]]:
    """Mean over the batch of -log p(x|z) + beta * KL(q(z|x) || N(0, I)), one reparameterised z per image.

    ``decoder_std`` is the decoder's standard deviation, unless the model learns its own.
    """
    mu, log_var = model.encode(x, labels)
    z = mu + torch.randn_like(mu) * (0.5 * log_var).exp()
    mean = model.decode(z, labels)
    log_std: float | torch.Tensor = math.log(decoder_std)
    std: float | torch.Tensor = decoder_std
    if model.log_decoder_std is not None:
        log_std, std = model.log_decoder_std, model.log_decoder_std.exp()
    constant = x.shape[1] * (log_std + 0.5 * math.log(2 * math.pi))
    reconstruction = 0.5 * ((x - mean) / std).square().sum(dim=1) + constant
    kl = 0.5 * (mu.square() + log_var.exp() - 1 - log_var).sum(dim=1)
    loss = (reconstruction + beta * kl).mean()
    return loss, {
        "loss": float(loss.item()),
        "reconstruction": float(reconstruction.mean().item()),
        "kl": float(kl.mean().item()),
    }


@dataclass(frozen=True)
class VAEFamily:
    """The VAE as a :class:`~fedgen_registry.tasks.image_family.GenerativeFamily`."""

    config: VAEConfig
    shape: tuple[int, int, int]
    num_classes: int

    @property
    def conditional(self) -> bool:
        return self.config.conditional

    def build(self) -> VAE:
        return VAE(self.config, self.shape, self.num_classes if self.conditional else 0)

    def loss(self, model: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        if not isinstance(model, VAE):
            raise TypeError(f"the VAE family trains a VAE, not a {type(model).__name__}")
        return negative_elbo(model, x, labels if self.conditional else None, self.config.decoder_std, self.config.beta)

    def sample(self, model: nn.Module, count: int, labels: torch.Tensor | None) -> torch.Tensor:
        if not isinstance(model, VAE):
            raise TypeError(f"the VAE family samples a VAE, not a {type(model).__name__}")
        return model.decode(torch.randn(count, self.config.latent_dim) * self.config.temperature, labels)
