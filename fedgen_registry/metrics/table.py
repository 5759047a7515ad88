"""How good a synthetic table is: the SDMetrics quality report, and train-on-synthetic, test-on-real accuracy.

The quality report (SDV's ``QualityReport``) averages *column shapes* (per-column KS complement or total
variation complement) and *column pair trends* (correlation and contingency similarity of every pair),
each in [0, 1]. TSTR trains one fixed scikit-learn classifier on the synthetic rows and scores it on
held-out real rows; the same classifier trained on the real training rows (TRTR) is the ceiling to
read it against.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sdmetrics.reports.single_table import QualityReport
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


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
