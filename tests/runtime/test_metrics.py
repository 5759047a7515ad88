"""KID on the cached digits classifier's features: sane at both ends, and the cache really is used."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fedgen_registry.data.datasets import digits_split
from fedgen_registry.metrics import image as metrics


def test_classifier_is_accurate_and_cached(metrics_cache: Path) -> None:
    metrics.digits_features.cache_clear()  # earlier test folders may have built it under another cache dir
    extractor = metrics.digits_features()
    assert extractor.test_accuracy > 0.9
    assert (metrics_cache / metrics.CLASSIFIER_FILE).exists()
    metrics.digits_features.cache_clear()  # the next call must load the file, not retrain
    reloaded = metrics.digits_features()
    x = digits_split()[1].x[:5]
    assert np.array_equal(reloaded.features(x), extractor.features(x))


def test_kid_is_near_zero_for_held_out_real_and_large_for_noise() -> None:
    train, test = digits_split()
    extractor = metrics.digits_features()
    real = extractor.features(test.x)
    same, _ = metrics.kid(extractor.features(train.x), real)
    noise = np.random.default_rng(0).uniform(-1, 1, test.x.shape).astype(np.float32)
    far, _ = metrics.kid(real, extractor.features(noise))
    one_class, _ = metrics.kid(real, extractor.features(train.x[train.y == 3]))
    assert abs(same) < 0.05
    assert far > 1.0 and far > 100 * abs(same)
    assert 0.5 < one_class < far  # a collapsed generator is caught, but is not as far as noise


def test_sample_quality_reports_label_accuracy_for_conditional_samples() -> None:
    _, test = digits_split()
    result = metrics.sample_quality(test.x, test, labels=test.y, subsets=3, subset_size=50)
    assert result["label_accuracy"] == metrics.digits_features().test_accuracy
    assert set(result) == {"kid", "kid_std", "classifier_test_accuracy", "label_accuracy"}
