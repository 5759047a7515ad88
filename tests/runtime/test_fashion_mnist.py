"""Opt-in: the metrics at real scale, on the real Fashion-MNIST files of Debian's ``dataset-fashion-mnist``.

Skipped where the package is not installed (``apt install dataset-fashion-mnist``; CI may install it, the
default run never needs it). The synthetic IDX files of ``test_real_runs`` prove the loaders; these
prove that the feature classifier trained on 60,000 real images gives a metric that tells real from not.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fedgen_registry.data.datasets import load_split
from fedgen_registry.metrics.image import features_for, image_report

ROOT = Path("/usr/share/datasets/fashion-mnist")
pytestmark = pytest.mark.skipif(
    not (ROOT / "train-images-idx3-ubyte.gz").exists(), reason="dataset-fashion-mnist is not installed"
)


@pytest.fixture(scope="module")
def split() -> tuple:
    return load_split("fashion-mnist", ROOT)


def test_the_real_files_are_read_whole(split: tuple) -> None:
    train, test = split
    assert (len(train), len(test), train.x.shape[1], train.num_classes) == (60000, 10000, 784, 10)


def test_held_out_real_images_sit_at_the_floor_and_shuffled_pixels_far_above(split: tuple) -> None:
    train, test = split
    extractor = features_for("fashion-mnist", str(ROOT))
    assert extractor.test_accuracy >= 0.8  # the features know the classes
    rng = np.random.default_rng(0)
    real = train.x[rng.choice(len(train), 1000, replace=False)]
    floor = image_report(real, test, extractor=extractor)
    shuffled = image_report(rng.permuted(real, axis=1), test, extractor=extractor)  # same pixels, no garments
    assert floor["kid"] < 0.01 and floor["recall"] > 0.8
    assert shuffled["kid"] > 20 * max(floor["kid"], 1e-3) and shuffled["recall"] < 0.2
