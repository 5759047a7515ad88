"""How well an attack worked, and how well a model does on everyone's data: the privacy and heterogeneity metrics.

- Reconstruction attacks (gradient inversion and the like): MSE, PSNR and SSIM between reconstructed
  and original images. SSIM is the Wang et al. (2004) index with its standard constants (11x11
  Gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03) computed as torchmetrics does (reflect-padded
  images, the index averaged over every pixel), written out rather than imported because torchmetrics
  takes seconds to import (a test checks the two agree).
  Images here live in [-1, 1], so the default data range is 2.
- Membership inference: the ROC AUC of the attacker's scores, members against non-members (1 is a
  perfect attack, 0.5 chance, 0 a perfect attack with the sign flipped).
- Heterogeneity methods: a classifier's accuracy on the global held-out split, the number those
  papers compare (one model judged on every client's distribution at once).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from torch import nn
from torch.nn import functional

from fedgen_registry.data.dataset import Dataset

DATA_RANGE = 2.0
"""max - min of the pixel values: images are stored in [-1, 1]."""
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03
_BATCH = 1024

ArrayLike = np.ndarray | torch.Tensor


def _pair(reconstructed: ArrayLike, original: ArrayLike) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.as_tensor(np.asarray(reconstructed), dtype=torch.float64)
    y = torch.as_tensor(np.asarray(original), dtype=torch.float64)
    if x.shape != y.shape:
        raise ValueError(f"reconstructed {tuple(x.shape)} and original {tuple(y.shape)} images differ in shape")
    return x, y


def reconstruction_mse(reconstructed: ArrayLike, original: ArrayLike) -> float:
    """Mean squared error over every pixel of every image."""
    x, y = _pair(reconstructed, original)
    return float((x - y).square().mean())


def psnr(reconstructed: ArrayLike, original: ArrayLike, data_range: float = DATA_RANGE) -> float:
    """Peak signal-to-noise ratio in dB, 10 log10(range^2 / MSE) over all pixels; ``inf`` for identical images."""
    mse = reconstruction_mse(reconstructed, original)
    return math.inf if mse == 0 else 10.0 * math.log10(data_range**2 / mse)


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
    x, y = _pair(reconstructed, original)
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


def membership_auc(member_scores: ArrayLike, non_member_scores: ArrayLike) -> float:
    """ROC AUC of a membership-inference attack whose higher score means "was in the training set"."""
    members, others = np.asarray(member_scores, dtype=np.float64), np.asarray(non_member_scores, dtype=np.float64)
    if members.size == 0 or others.size == 0:
        raise ValueError("membership AUC needs scores of at least one member and one non-member")
    labels = np.concatenate([np.ones(members.size), np.zeros(others.size)])
    return float(roc_auc_score(labels, np.concatenate([members.ravel(), others.ravel()])))


@torch.no_grad()
def global_test_accuracy(model: nn.Module, split: Dataset) -> float:
    """Share of the held-out ``split`` (flattened rows, as stored) that ``model`` labels correctly.

    The model is evaluated in eval mode (batch norm on running statistics) and put back in the mode it was in.
    """
    if len(split) == 0:
        raise ValueError("global test accuracy needs at least one held-out row")
    was_training = model.training
    model.eval()
    try:
        x = torch.as_tensor(split.x, dtype=torch.float32)
        predicted = torch.cat([model(x[i : i + _BATCH]).argmax(1) for i in range(0, len(x), _BATCH)])
    finally:
        model.train(was_training)
    return float((predicted.numpy() == split.y).mean())
