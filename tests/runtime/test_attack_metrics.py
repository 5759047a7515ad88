"""Attack and heterogeneity metrics: the formulas' fixed points, known values, and torchmetrics' reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from fedgen_registry.data.dataset import Dataset
from fedgen_registry.metrics import attacks as attack_metrics
from fedgen_registry.metrics.ssim import ssim


def _images(seed: int = 0, shape: tuple[int, ...] = (4, 3, 16, 16)) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


def test_identical_images_score_perfectly() -> None:
    images = _images()
    assert attack_metrics.reconstruction_mse(images, images) == 0.0
    assert attack_metrics.psnr(images, images) == math.inf
    assert ssim(images, images) == pytest.approx(1.0, abs=1e-12)


def test_psnr_and_mse_of_a_constant_offset() -> None:
    images = _images()
    assert attack_metrics.reconstruction_mse(images + 0.1, images) == pytest.approx(0.01, rel=1e-5)
    assert attack_metrics.psnr(images + 0.1, images) == pytest.approx(10 * math.log10(4 / 0.01), rel=1e-5)


def test_ssim_of_two_flat_images_is_the_luminance_term() -> None:
    # no variance anywhere, so SSIM = (2ab + C1) / (a^2 + b^2 + C1) exactly
    a, b, c1 = 0.2, -0.3, (0.01 * 2.0) ** 2
    flat_a, flat_b = np.full((1, 1, 12, 12), a), np.full((1, 1, 12, 12), b)
    assert ssim(flat_a, flat_b) == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), rel=1e-9)


def test_noise_lowers_ssim_and_psnr_monotonically() -> None:
    images = _images()
    noise = np.random.default_rng(1).normal(size=images.shape)
    ssims = [ssim(images + s * noise, images) for s in (0.05, 0.2, 0.8)]
    psnrs = [attack_metrics.psnr(images + s * noise, images) for s in (0.05, 0.2, 0.8)]
    assert 1.0 > ssims[0] > ssims[1] > ssims[2]
    assert psnrs[0] > psnrs[1] > psnrs[2]


@pytest.mark.parametrize("shape", [(3, 1, 28, 28), (2, 3, 32, 32), (2, 1, 8, 8)])
def test_ssim_and_psnr_agree_with_torchmetrics(shape: tuple[int, int, int, int]) -> None:
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    original = _images(2, shape)
    noisy = np.clip(original + 0.3 * np.random.default_rng(3).normal(size=original.shape), -1, 1)
    x, y = torch.as_tensor(noisy, dtype=torch.float64), torch.as_tensor(original, dtype=torch.float64)
    expected = structural_similarity_index_measure(x, y, data_range=2.0)
    assert ssim(noisy, original) == pytest.approx(float(expected), rel=1e-6)
    assert attack_metrics.psnr(noisy, original) == pytest.approx(float(peak_signal_noise_ratio(x, y, 2.0)), rel=1e-6)


def test_ssim_shrinks_its_window_to_fit_tiny_images() -> None:
    images = _images(4, (2, 1, 4, 4))
    assert ssim(images, images) == pytest.approx(1.0)
    assert ssim(images + 0.5 * _images(5, images.shape), images) < 0.9


def test_mismatched_or_flat_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="differ in shape"):
        ssim(_images(), _images()[:2])
    with pytest.raises(ValueError, match="channels, height, width"):
        ssim(_images().reshape(4, -1), _images().reshape(4, -1))


def test_membership_auc_for_separable_identical_and_reversed_scores() -> None:
    rng = np.random.default_rng(0)
    members, others = rng.uniform(1, 2, 200), rng.uniform(0, 1, 200)
    assert attack_metrics.membership_auc(members, others) == 1.0
    assert attack_metrics.membership_auc(others, members) == 0.0
    same = attack_metrics.membership_auc(rng.normal(size=5000), rng.normal(size=5000))
    assert same == pytest.approx(0.5, abs=0.03)
    with pytest.raises(ValueError, match="at least one"):
        attack_metrics.membership_auc([], others)


class _Argmax(nn.Module):
    """Predicts the index of the largest input feature; batch norm only to show the mode is restored."""

    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def test_global_test_accuracy_counts_correct_labels_and_keeps_the_mode() -> None:
    x = np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]
    split = Dataset("toy", x, np.array([0, 1, 2, 1]), (3,), 3)
    model = _Argmax().train()
    assert attack_metrics.global_test_accuracy(model, split) == 0.75
    assert model.training
