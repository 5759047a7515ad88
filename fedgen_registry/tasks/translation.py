"""Image-to-image translation and MRI-style building blocks shared by the federated translation papers.

The medical translation papers (Federated CycleGAN, FedMed-GAN, FedMed-ATL, pFLSynth) and the MRI prior of
FedGIMP need the same few pieces, made here from the 8x8 digits without new data:

- *contrasts*: fixed transforms of one digit that play the part of MRI contrasts of one subject
  (``t1`` the digit, ``t2`` its inverted intensities, ``pd`` a 3x3 blur from :mod:`fedgen_registry.models.paired`), so
  every held-out digit gives an aligned ground-truth pair for judging a translation;
- :func:`affine`: rotations, shifts and scalings of 8x8 images (misaligned scans, self-supervised heads);
- :func:`translation_quality`: MSE, PSNR and SSIM of translated against target images, and
  :class:`FixedSamples`, to pass translated images to the shared KID evaluation;
- :class:`TranslationAlgorithm`: judging a translation on held-out aligned pairs.

What travels and how sites train (a local CycleGAN, shared generators) is a strategy's:
:mod:`fedgen_registry.strategies.translation`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any, Literal, TypeVar

import torch
from pydantic import Field, model_validator
from torch import nn
from torch.nn import functional

from fedgen_registry.metrics.ssim import DATA_RANGE, ssim
from fedgen_registry.models.paired import SIDE, blurred
from fedgen_registry.tasks.image_gan import ImageGANAlgorithm, ImageGANConfig

CONTRASTS = ("t1", "t2", "pd")
Contrast = Literal["t1", "t2", "pd"]
PIXELS = SIDE * SIDE


def contrast(images: torch.Tensor, name: str) -> torch.Tensor:
    """(n, 64) digits in [-1, 1] -> the same subjects in contrast ``name`` (t1: as is, t2: inverted, pd: blurred)."""
    if name == "t1":
        return images
    if name == "t2":
        return -images
    if name == "pd":
        return blurred(images)
    raise ValueError(f"unknown contrast {name!r}; known: {', '.join(CONTRASTS)}")


def affine(images: torch.Tensor, angle: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Rotate by ``angle`` degrees, zoom by ``scale`` and move by ``shift`` (n, 2) in image-width fractions.

    Per image (bilinear); uncovered pixels are background (-1), as outside the head in a scan.
    """
    radians = angle * math.pi / 180.0
    cos, sin = torch.cos(radians) / scale, torch.sin(radians) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, -2.0 * shift[:, 0]], dim=1), torch.stack([sin, cos, -2.0 * shift[:, 1]], dim=1)],
        dim=1,
    )
    grid = functional.affine_grid(theta, [len(images), 1, SIDE, SIDE], align_corners=False)
    moved = functional.grid_sample(images.view(-1, 1, SIDE, SIDE) + 1.0, grid, align_corners=False)
    return moved.flatten(1) - 1.0


def lsgan_loss(prediction: torch.Tensor, target: float) -> torch.Tensor:
    """The least-squares GAN loss that CycleGAN, pix2pix and their federated versions use."""
    return (prediction - target).square().mean()


class FixedSamples(nn.Module):
    """A stand-in generator that returns given images in turn, so translated images reach the shared KID code."""

    def __init__(self, samples: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("samples", samples)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.samples[torch.arange(len(z)) % len(self.samples)]


# --------------------------------------------------------------------------------------------- metrics


def unit(images: torch.Tensor) -> torch.Tensor:
    """Flattened [-1, 1] images as (n, 1, side, side) intensities in [0, 1], what SSIM is read on here.

    SSIM's luminance term assumes non-negative intensities: on [-1, 1] an inverted image would score
    high (two negative factors), so the translation task maps to [0, 1] (data range 1) first.
    """
    return (images.view(-1, 1, SIDE, SIDE).double() + 1.0) / DATA_RANGE


def translation_quality(prediction: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """MSE, PSNR (dB, data range 2, averaged per image) and SSIM of predicted against target images."""
    error = (prediction.double() - target.double()).square().flatten(1).mean(dim=1)
    psnr = 10.0 * torch.log10(DATA_RANGE**2 / error.clamp_min(1e-10))
    return {
        "mse": float(error.mean()),
        "psnr": float(psnr.mean()),
        "ssim": ssim(unit(prediction), unit(target), data_range=1.0),
    }


def prefixed(metrics: Mapping[str, float], prefix: str) -> dict[str, float]:
    return {f"{prefix}_{key}": value for key, value in metrics.items()}


# --------------------------------------------------------------------------------------------- judging


class TranslationConfig(ImageGANConfig):
    """What every translation implementation adds: the two contrasts and the local steps per round."""

    source: Contrast = Field("t1", description="Contrast of modality a (t1: the digit, t2: inverted, pd: blurred).")
    target: Contrast = Field("t2", description="Contrast of modality b.")
    local_steps: int = Field(5, ge=1, description="Local generator/discriminator updates per client per round.")

    @model_validator(mode="after")
    def _two_contrasts(self) -> TranslationConfig:
        if self.source == self.target:
            raise ValueError("source and target must be different contrasts")
        if self.model.conditional:
            raise ValueError("translation networks condition on images, not labels: leave model.conditional false")
        return self


TranslationConfigT = TypeVar("TranslationConfigT", bound=TranslationConfig)


class TranslationAlgorithm(ImageGANAlgorithm[TranslationConfigT]):
    """Judges translation on held-out *aligned* pairs: every test digit in both contrasts.

    Reports MSE/PSNR/SSIM of ``a -> b`` and ``b -> a`` against the true other contrast, the same numbers for
    the untranslated input (``identity_*``, the floor a translator must beat), and the shared KID of the
    translations that land in the digit contrast (t1), with ``samples.png`` showing them.
    """

    def judge(
        self, a_to_b: Callable[[torch.Tensor], torch.Tensor], b_to_a: Callable[[torch.Tensor], torch.Tensor]
    ) -> dict[str, Any]:
        digits = torch.as_tensor(self.test.x)
        a, b = contrast(digits, self.config.source), contrast(digits, self.config.target)
        with torch.no_grad():
            fake_b, fake_a = a_to_b(a), b_to_a(b)
        metrics: dict[str, Any] = {
            "evaluation": "translation quality on held-out aligned pairs (mse, psnr dB, ssim); kid on t1 outputs",
            **prefixed(translation_quality(fake_b, b), "a2b"),
            **prefixed(translation_quality(fake_a, a), "b2a"),
            **prefixed(translation_quality(a, b), "identity_a2b"),
        }
        in_digits = fake_a if self.config.source == "t1" else fake_b if self.config.target == "t1" else None
        if in_digits is not None:
            metrics |= super().finish(SimpleNamespace(generator=FixedSamples(in_digits)))  # type: ignore[arg-type]
        return metrics
