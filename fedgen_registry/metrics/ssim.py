"""SSIM, written once: the Wang et al. (2004) index with its standard constants, computed as torchmetrics does.

11x11 Gaussian window (sigma 1.5, shrunk to fit small images), K1 = 0.01, K2 = 0.03, images padded by
reflection so every pixel gets an index, the index averaged over every pixel. Written out rather than
imported because torchmetrics takes seconds to import (a test checks the two agree). Reconstruction
attacks use it on [-1, 1] images (data range 2); the translation task on intensities mapped to [0, 1].
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional

DATA_RANGE = 2.0
"""max - min of the pixel values: images are stored in [-1, 1]."""
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03

ArrayLike = np.ndarray | torch.Tensor


def pair(reconstructed: ArrayLike, original: ArrayLike) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.as_tensor(np.asarray(reconstructed), dtype=torch.float64)
    y = torch.as_tensor(np.asarray(original), dtype=torch.float64)
    if x.shape != y.shape:
        raise ValueError(f"reconstructed {tuple(x.shape)} and original {tuple(y.shape)} images differ in shape")
    return x, y


def _gaussian_window(size: int, sigma: float) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    kernel = torch.exp(-coords.square() / (2 * sigma**2))
    kernel /= kernel.sum()
    return torch.outer(kernel, kernel)


def ssim(
    reconstructed: ArrayLike,
    original: ArrayLike,
    data_range: float = DATA_RANGE,
    window: int = SSIM_WINDOW,
    sigma: float = SSIM_SIGMA,
) -> float:
    """Mean structural similarity of images shaped (n, channels, height, width); 1 for identical images.

    Local means, variances and covariance come from a Gaussian window per channel over the image padded
    by reflection, so every pixel gets an index (torchmetrics' convention; other libraries drop the border,
    so compare values computed the same way). A window wider than reflection allows shrinks to fit.
    """
    x, y = pair(reconstructed, original)
    if x.dim() != 4:
        raise ValueError(f"SSIM needs images shaped (n, channels, height, width), got {tuple(x.shape)}")
    size = min(window, 2 * min(x.shape[2], x.shape[3]) - 1)  # reflection needs a pad smaller than the side
    size -= 1 - size % 2  # odd, so the window has a centre pixel
    pad, channels = (size - 1) // 2, x.shape[1]
    kernel = _gaussian_window(size, sigma).expand(channels, 1, size, size)

    def blur(image: torch.Tensor) -> torch.Tensor:
        return functional.conv2d(functional.pad(image, (pad, pad, pad, pad), mode="reflect"), kernel, groups=channels)

    mu_x, mu_y = blur(x), blur(y)
    var_x = (blur(x * x) - mu_x.square()).clamp(min=0)  # clamp rounding errors of flat regions
    var_y = (blur(y * y) - mu_y.square()).clamp(min=0)
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    index = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x.square() + mu_y.square() + c1) * (var_x + var_y + c2))
    return float(index.mean())
