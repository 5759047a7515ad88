"""How good a synthetic table is: the SDMetrics quality report, train-on-synthetic accuracy, and memorisation.

The quality report (SDV's ``QualityReport``) averages *column shapes* (per-column KS complement or total
variation complement) and *column pair trends* (correlation and contingency similarity of every pair),
each in [0, 1]. TSTR trains one fixed scikit-learn classifier on the synthetic rows and scores it on
held-out real rows; the same classifier trained on the real training rows (TRTR) is the ceiling to
read it against. Memorisation is the image task's distance to the closest record
(:mod:`fedgen_registry.metrics.memorisation`), on rows made numeric: continuous columns standardised
by the training rows' mean and deviation (so no column's unit dominates), discrete ones one-hot.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sdmetrics.reports.single_table import QualityReport
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from fedgen_registry.data.dataset import Dataset
from fedgen_registry.metrics.memorisation import memorisation_report


def quality(real: pd.DataFrame, synthetic: pd.DataFrame, metadata: dict) -> dict[str, float]:
    """The overall quality score and its two properties, each in [0, 1] (higher: closer to ``real``)."""
    report = QualityReport()
    report.generate(real, synthetic[real.columns], metadata, verbose=False)
    properties = report.get_properties().set_index("Property")["Score"]
    return {
        "quality_score": float(report.get_score()),
        "column_shapes": float(properties["Column Shapes"]),
        "column_pair_trends": float(properties["Column Pair Trends"]),
    }


def classifier_accuracy(train: pd.DataFrame, test: pd.DataFrame, target: str, discrete: tuple[str, ...]) -> float:
    """Accuracy on ``test`` of a logistic regression fitted on ``train`` (one-hot discrete, scaled numeric features).

    A training table with a single class cannot fit a classifier; it predicts that class.
    """
    classes = train[target].unique()
    if len(classes) == 1:
        return float((test[target] == classes[0]).mean())
    features = [c for c in train.columns if c != target]
    categorical = [c for c in features if c in discrete]
    numeric = [c for c in features if c not in discrete]
    model = make_pipeline(
        ColumnTransformer(
            [
                ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
                ("numeric", StandardScaler(), numeric),
            ]
        ),
        LogisticRegression(max_iter=2000),
    )
    model.fit(train[features], train[target].to_numpy())
    return float(np.mean(model.predict(test[features]) == test[target].to_numpy()))


def numeric_rows(frame: pd.DataFrame, reference: pd.DataFrame, discrete: tuple[str, ...]) -> np.ndarray:
    """``frame`` as float32 rows: continuous columns standardised by ``reference``, discrete ones one-hot."""
    parts = []
    for name in reference.columns:
        if name in discrete:
            categories = np.sort(reference[name].unique())
            parts.append((frame[name].to_numpy()[:, None] == categories[None, :]).astype(np.float64))
        else:
            scale = float(reference[name].std()) or 1.0
            parts.append(((frame[name].to_numpy(dtype=np.float64) - reference[name].mean()) / scale)[:, None])
    return np.concatenate(parts, axis=1).astype(np.float32)


def table_memorisation(
    synthetic: pd.DataFrame, train: pd.DataFrame, test: pd.DataFrame, discrete: tuple[str, ...]
) -> dict[str, float | bool | None]:
    """Distances of synthetic rows to their closest training row, read against held-out rows' (see the module)."""

    def rows(frame: pd.DataFrame) -> Dataset:
        x = numeric_rows(frame, train, discrete)
        return Dataset("table", x, np.zeros(len(x), dtype=np.int64), (x.shape[1],), 1)

    return memorisation_report(numeric_rows(synthetic, train, discrete), rows(train), rows(test))
