"""Table metrics separate real from noise: the SDMetrics quality score and train-on-synthetic accuracy."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fedgen_registry.data.tabular import TableConfig, load_table
from fedgen_registry.metrics.table import classifier_accuracy, quality


def _noise(frame: pd.DataFrame, target: str, rng: np.random.Generator) -> pd.DataFrame:
    """Each column uniform over its observed range, the target shuffled: right schema, no structure."""
    noise = {c: rng.uniform(frame[c].min(), frame[c].max(), len(frame)) for c in frame.columns if c != target}
    return pd.DataFrame({**noise, target: rng.permutation(frame[target].to_numpy())})[frame.columns]


def test_quality_of_real_rows_is_high_and_of_noise_lower() -> None:
    table = load_table(TableConfig(name="breast-cancer", max_features=6))
    real = quality(table.test, table.train, table.metadata())
    noise = quality(table.test, _noise(table.train, table.target, np.random.default_rng(0)), table.metadata())
    assert real["quality_score"] > 0.85
    assert noise["quality_score"] < real["quality_score"] - 0.15
    assert noise["column_shapes"] < real["column_shapes"] and noise["column_pair_trends"] < real["column_pair_trends"]


def test_train_on_real_beats_train_on_noise() -> None:
    table = load_table(TableConfig(name="breast-cancer", max_features=6))
    real = classifier_accuracy(table.train, table.test, table.target, table.discrete)
    noise = _noise(table.train, table.target, np.random.default_rng(0))
    assert real > 0.85
    assert classifier_accuracy(noise, table.test, table.target, table.discrete) < real - 0.15
    one_class = table.train[table.train[table.target] == 1]
    assert (
        classifier_accuracy(one_class, table.test, table.target, table.discrete)
        == (table.test[table.target] == 1).mean()
    )
