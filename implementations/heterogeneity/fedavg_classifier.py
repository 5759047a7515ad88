"""FedAvg of a classifier (McMahan et al. 2017): the baseline of the heterogeneity strand.

Every generative fix for non-IID data (data-free distillation, synthetic augmentation, one-shot learning
from generated data) is read against this run on the same partition: its global test accuracy on IID
clients, and how far it falls under label skew. The strategy is
:class:`~fedgen_registry.strategies.classification.FedAvgClassifierAlgorithm`; this file registers it.
"""

from __future__ import annotations

from fedgen_registry.catalog.claims import Check, Claim, ClaimRun
from fedgen_registry.registry import register
from fedgen_registry.strategies.classification import (
    FEDAVG_CLASSIFIER_QUALITY,
    FEDAVG_CLASSIFIER_SMOKE,
    FedAvgClassifierAlgorithm,
)
from fedgen_registry.tasks.classification import ClassificationConfig


@register(
    "fedavg-classifier",
    config=ClassificationConfig,
    family="classifier",
    summary="FedAvg of an MLP classifier, weighted by client data size; judged by global test accuracy.",
    presets={
        "smoke": FEDAVG_CLASSIFIER_SMOKE,
        "quality": FEDAVG_CLASSIFIER_QUALITY,
        "label-skew": {**FEDAVG_CLASSIFIER_SMOKE, "data.partition": "dirichlet", "data.alpha": 0.1},
    },
    claim=Claim(
        statement="FedAvg of a classifier on 10 IID clients comes within 2 points of centralized test accuracy, "
        "and loses accuracy when the clients' labels are skewed (Dirichlet 0.1): the gap the non-IID papers close.",
        runs={
            "iid": ClaimRun(implementation="fedavg-classifier"),
            "label-skew": ClaimRun(
                implementation="fedavg-classifier", overrides={"data.partition": "dirichlet", "data.alpha": 0.1}
            ),
            "centralized": ClaimRun(implementation="centralized-classifier"),
        },
        checks=[
            Check(metric="test_accuracy", run="iid", op=">=", against="centralized", margin=-0.02),
            Check(metric="test_accuracy", run="label-skew", op="<", against="iid"),
        ],
        note="The premise of the heterogeneity strand (FedAvg loses accuracy under label skew), "
        "on the 8x8 digits with an MLP.",
    ),
)
class FedAvgClassifier(FedAvgClassifierAlgorithm):
    """FedAvg of a classifier as the strategy defines it; nothing paper-specific to add."""
