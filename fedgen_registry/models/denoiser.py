"""An MLP denoiser for small images: the diffusion network that fits 8x8 digits on a CPU.

On 64 pixels a UNet's convolutions buy little: an MLP on the flattened image with residual blocks and
a sinusoidal timestep embedding (the transformer's position code, as DDPM embeds its timesteps; diffusers'
``Timesteps`` and ``TimestepEmbedding``) trains to better samples in less time. It takes and gives
images of the UNet's shape, with the UNet's call signature (``model(images, timesteps, class_labels=...)``),
so the diffusion objective drives either; the timestep embedding (plus a class embedding when
conditional) is added inside every residual block. diffusers is imported when a network is built.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class ResidualBlock(nn.Module):
    """``h + W2 SiLU(W1 SiLU(LN(h)) + E(t))``: a pre-norm MLP block that reads the time embedding."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.inner = nn.Linear(width, width)
        self.time = nn.Linear(width, width)
        self.outer = nn.Linear(width, width)
        self.act = nn.SiLU()

    def forward(self, h: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        return h + self.outer(self.act(self.inner(self.act(self.norm(h))) + self.time(embedding)))


class MLPDenoiser(nn.Module):
    """Flattened noisy image -> ``width`` features -> ``blocks`` residual blocks -> a prediction of the image's shape."""

    def __init__(self, shape: tuple[int, int, int], width: int, blocks: int, num_classes: int = 0) -> None:
        super().__init__()
        from diffusers.models.embeddings import TimestepEmbedding, Timesteps

        self.shape, self.data_dim = shape, math.prod(shape)
        self.time_features = Timesteps(width, flip_sin_to_cos=True, downscale_freq_shift=0)
        self.time_embedding = TimestepEmbedding(width, width)
        self.class_embedding = nn.Embedding(num_classes, width) if num_classes else None
        self.inp = nn.Linear(self.data_dim, width)
        self.blocks = nn.ModuleList(ResidualBlock(width) for _ in range(blocks))
        self.out = nn.Sequential(nn.LayerNorm(width), nn.SiLU(), nn.Linear(width, self.data_dim))

    def forward(
        self, images: torch.Tensor, timesteps: torch.Tensor | int, class_labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        steps = torch.as_tensor(timesteps).reshape(-1).expand(len(images))
        embedding = self.time_embedding(self.time_features(steps))
        if self.class_embedding is not None:
            if class_labels is None:
                raise ValueError("a conditional denoiser needs class labels")
            embedding = embedding + self.class_embedding(class_labels)
        h = self.inp(images.reshape(len(images), self.data_dim))
        for block in self.blocks:
            h = block(h, embedding)
        return self.out(h).reshape(len(images), *self.shape)
