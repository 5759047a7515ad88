"""FID, PRDC, conditional label accuracy and TSTR on the digits classifier's features: sane at both ends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fedgen_registry.data.datasets import digits_split, load_split
from fedgen_registry.metrics import image as metrics
from runtime.test_realdata import write_idx


@pytest.fixture(scope="module")
def features() -> dict[str, np.ndarray]:
    train, test = digits_split()
    extractor = metrics.digits_features()
    noise = np.random.default_rng(0).uniform(-1, 1, test.x.shape).astype(np.float32)
    return {
        "train_a": extractor.features(train.x[::2]),
        "train_b": extractor.features(train.x[1::2]),
        "test": extractor.features(test.x),
        "noise": extractor.features(noise),
        "threes": extractor.features(train.x[train.y == 3]),
    }


def test_fid_is_small_between_real_splits_and_large_against_noise(features) -> None:
    same = metrics.frechet_distance(features["train_a"], features["test"])
    far = metrics.frechet_distance(features["train_a"], features["noise"])
    assert 0 <= same < 1.5
    assert far > 50 * same
    assert same < metrics.frechet_distance(features["train_a"], features["threes"]) < far


def test_prdc_is_near_one_for_real_and_zero_for_noise(features) -> None:
    real = metrics.prdc(features["train_a"], features["train_b"], nearest_k=5)
    assert real["precision"] > 0.85 and real["recall"] > 0.85 and real["coverage"] > 0.85
    assert 0.75 < real["density"] < 1.25
    noise = metrics.prdc(features["test"], features["noise"], nearest_k=5)
    assert max(noise.values()) < 0.05


def test_prdc_tells_fidelity_from_diversity(features) -> None:
    """One class only: every sample is realistic (precision high) but most of the data is missed."""
    collapsed = metrics.prdc(features["test"], features["threes"], nearest_k=5)
    assert collapsed["precision"] > 0.8
    assert collapsed["recall"] < 0.3 and collapsed["coverage"] < 0.3


def test_label_accuracy_of_real_labelled_data_is_the_classifier_accuracy() -> None:
    _, test = digits_split()
    assert metrics.label_accuracy(test.x, test.y) == metrics.digits_features().test_accuracy
    wrong = (test.y + 1) % test.num_classes
    assert metrics.label_accuracy(test.x, wrong) < 0.05


def test_tstr_on_real_as_synthetic_matches_train_on_real() -> None:
    train, test = digits_split()
    on_real = metrics.digits_features().test_accuracy
    assert abs(metrics.tstr_accuracy(train.x, train.y, test) - on_real) < 0.02
    shuffled = np.random.default_rng(0).permutation(train.y[:300])  # labels that say nothing of the images
    assert metrics.tstr_accuracy(train.x[:300], shuffled, test) < 0.3


def test_image_report_has_every_metric() -> None:
    _, test = digits_split()
    unconditional = metrics.image_report(test.x[:100], test, subsets=2, subset_size=32)
    assert {"kid", "fid", "precision", "recall", "density", "coverage"} <= set(unconditional)
    assert "tstr_accuracy" not in unconditional and "label_accuracy" not in unconditional
    conditional = metrics.image_report(test.x[:100], test, test.y[:100], subsets=2, subset_size=32)
    assert {"label_accuracy", "tstr_accuracy"} <= set(conditional)


def test_fid_agrees_with_torchmetrics(features) -> None:
    """Our Frechet distance is torchmetrics' FrechetInceptionDistance on the same (precomputed) features."""
    import torch
    from torchmetrics.image.fid import FrechetInceptionDistance

    class Precomputed(torch.nn.Module):
        num_features = features["test"].shape[1]

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    reference = FrechetInceptionDistance(feature=Precomputed())
    reference.update(torch.as_tensor(features["test"]), real=True)
    reference.update(torch.as_tensor(features["threes"]), real=False)
    ours = metrics.frechet_distance(features["test"], features["threes"])
    assert ours == pytest.approx(float(reference.compute()), rel=1e-6)


FASHION = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist


def upscaled_digits(root: Path) -> Path:
    """The bundled digits as 28x28 MNIST IDX files (each pixel 3x3, padded by 2): a real structure, not noise."""
    from fedgen_registry.data.datasets import digits_split

    root.mkdir(parents=True, exist_ok=True)
    for prefix, split in zip(("train", "t10k"), digits_split(), strict=True):
        images = np.kron(split.x.reshape(-1, 8, 8), np.ones((3, 3)))  # [-1, 1] at 24x24
        pixels = np.pad(((images + 1) * 127.5).round(), ((0, 0), (2, 2), (2, 2)))
        write_idx(root / f"{prefix}-images-idx3-ubyte", pixels.astype(np.uint8))
        write_idx(root / f"{prefix}-labels-idx1-ubyte", split.y.astype(np.uint8))
    return root


def test_any_labelled_dataset_gets_its_own_cached_feature_classifier(tmp_path: Path) -> None:
    root = upscaled_digits(tmp_path / "mnist")
    extractor = metrics.features_for("mnist", str(root))
    train, test = load_split("mnist", str(root))
    assert extractor.test_accuracy > 0.9, "a classifier of these 28x28 digits should be accurate"
    real = metrics.sample_quality(train.x[:300], test, None, 20, 100, extractor)["kid"]
    noise = np.random.default_rng(0).uniform(-1, 1, (300, train.x.shape[1])).astype(np.float32)
    fake = metrics.sample_quality(noise, test, None, 20, 100, extractor)["kid"]
    assert real < 0.05 < fake
    cached = list(metrics.cache_dir().glob("mnist-1437x784-*-classifier-v1.pt"))
    assert len(cached) == 1
    metrics.features_for.cache_clear()
    reloaded = metrics.features_for("mnist", str(root))
    assert reloaded.test_accuracy == extractor.test_accuracy


@pytest.mark.skipif(
    not FASHION.is_dir(),
    reason="Debian's dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)",
)
def test_real_fashion_mnist_floor_and_noise() -> None:
    """Opt-in, real scale: the classifier of the 60,000 real images and the real-vs-real floor it gives."""
    extractor = metrics.features_for("fashion-mnist", str(FASHION))
    train, test = load_split("fashion-mnist", str(FASHION))
    assert extractor.test_accuracy > 0.8
    real = train.x[np.random.default_rng(0).choice(len(train), 500, replace=False)]
    floor = metrics.sample_quality(real, test, None, 20, 100, extractor)["kid"]
    noise = np.random.default_rng(1).uniform(-1, 1, real.shape).astype(np.float32)
    assert floor < 0.03 and metrics.sample_quality(noise, test, None, 20, 100, extractor)["kid"] > 0.5
