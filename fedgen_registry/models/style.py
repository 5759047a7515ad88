"""MLPs modulated by a latent: the networks of the federated translation and MRI-prior papers.

:class:`StyleModulation` normalises features per sample and re-scales and shifts them from a latent
(AdaIN), optionally re-weighting each channel (AdaCW); :class:`ModulatedMLP` stacks it after each
hidden layer. The switchable generator of Federated CycleGAN, the personalisation blocks of pFLSynth
and the style prior of FedGIMP are all MLPs modulated this way.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn
from torch.nn import functional


class StyleModulation(nn.Module):
    """AdaIN for MLP features: normalise each sample's features, then scale and shift them from latent ``w``;
    with ``channel_weighting`` also multiply each feature by a gate in (0, 1) from ``w`` (pFLSynth's AdaCW)."""

    def __init__(self, channels: int, latent_dim: int, channel_weighting: bool = False) -> None:
        super().__init__()
        self.style = nn.Linear(latent_dim, 2 * channels)
        self.weighting = nn.Sequential(nn.Linear(latent_dim, channels), nn.Sigmoid()) if channel_weighting else None

    def forward(self, features: torch.Tensor, latent: torch.Tensor) -> torch.Tensor:
        normalised = functional.layer_norm(features, features.shape[-1:])
        scale, shift = self.style(latent).chunk(2, dim=-1)
        out = normalised * (1.0 + scale) + shift
        return out if self.weighting is None else out * self.weighting(latent)


class ModulatedMLP(nn.Module):
    """``stages`` (Linear layers, the last one the output) with a :class:`StyleModulation` after each hidden one.

    ``output="tanh"`` gives an image, ``"logit"`` one score per row. Stage ``i`` is named ``stages.i`` and its
    modulation ``modulations.i``, so a personalised scheme can share some stages and keep the rest.
    """

    def __init__(
        self,
        in_dim: int,
        hidden: int,
        out_dim: int,
        depth: int,
        latent_dim: int,
        output: str = "tanh",
        channel_weighting: bool = False,
    ) -> None:
        super().__init__()
        if output not in ("tanh", "logit"):
            raise ValueError(f"output must be 'tanh' or 'logit', got {output!r}")
        widths = [in_dim] + [hidden] * depth + [out_dim]
        self.stages = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(widths))
        self.modulations = nn.ModuleList(StyleModulation(hidden, latent_dim, channel_weighting) for _ in range(depth))
        self.output = output

    def forward(self, x: torch.Tensor, latent: torch.Tensor) -> torch.Tensor:
        h = x
        for stage, modulation in zip(self.stages, self.modulations, strict=False):
            h = functional.leaky_relu(modulation(stage(h), latent), 0.2)
        out = self.stages[-1](h)
        return torch.tanh(out) if self.output == "tanh" else out.squeeze(-1)
