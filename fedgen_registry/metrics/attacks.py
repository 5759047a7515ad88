"""How well an attack worked, and how well a model does on everyone's data: the privacy and heterogeneity metrics.

- Reconstruction attacks (gradient inversion and the like): MSE, PSNR and SSIM between reconstructed
  and original images (SSIM from :mod:`fedgen_registry.metrics.ssim`, the one SSIM of the package).
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

from fedgen_registry.data.dataset import Dataset
from fedgen_registry.metrics.ssim import DATA_RANGE, ArrayLike, pair

_BATCH = 1024


def reconstruction_mse(reconstructed: ArrayLike, original: ArrayLike) -> float:
    """Mean squared error over every pixel of every image."""
    x, y = pair(reconstructed, original)
    return float((x - y).square().mean())


def psnr(reconstructed: ArrayLike, original: ArrayLike, data_range: float = DATA_RANGE) -> float:
    """Peak signal-to-noise ratio in dB, 10 log10(range^2 / MSE) over all pixels; ``inf`` for identical images."""
    mse = reconstruction_mse(reconstructed, original)
    return math.inf if mse == 0 else 10.0 * math.log10(data_range**2 / mse)


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
