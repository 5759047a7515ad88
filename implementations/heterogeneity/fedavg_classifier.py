"""FedAvg of a classifier (McMahan et al. 2017): the baseline of the heterogeneity strand.

Every generative fix for non-IID data (data-free distillation, synthetic augmentation, one-shot learning
from generated data) is read against this run on the same partition: its global test accuracy on IID
clients, and how far it falls under label skew. The strategy is
:class:`~fedgen_registry.strategies.classification.FedAvgClassifierAlgorithm`; this file registers it.
"""

from __future__ import annotations

from fedgen_registry.registry import register
from fedgen_registry.strategies.classification import FEDAVG_CLASSIFIER_SMOKE, FedAvgClassifierAlgorithm
from fedgen_registry.tasks.classification import ClassificationConfig


@register(
    "fedavg-classifier",
    config=ClassificationConfig,
    family="classifier",
    summary="FedAvg of an MLP classifier, weighted by client data size; judged by global test accuracy.",
    presets={
        "smoke": FEDAVG_CLASSIFIER_SMOKE,
        "label-skew": {**FEDAVG_CLASSIFIER_SMOKE, "data.partition": "dirichlet", "data.alpha": 0.1},
    },
)
class FedAvgClassifier(FedAvgClassifierAlgorithm):
    """FedAvg of a classifier as the strategy defines it; nothing paper-specific to add."""
