"""The centralized classifier: see :mod:`fedgen_registry.implementations.baselines` for what a twin is.

The ceiling of the heterogeneity strand: the same classifier and steps on one client holding every row.
"""

from __future__ import annotations

from fedgen_registry.catalog.claims import Check, Claim, ClaimRun
from fedgen_registry.registry import register
from fedgen_registry.strategies.classification import (
    FEDAVG_CLASSIFIER_QUALITY,
    FEDAVG_CLASSIFIER_SMOKE,
    FedAvgClassifierAlgorithm,
)
from fedgen_registry.tasks.centralized import centralized_registration
from fedgen_registry.tasks.classification import ClassificationConfig


@register(
    "centralized-classifier",
    family="classifier",
    summary="Centralized classifier: the FedAvg classifier's network and steps on all the data at one place.",
    **centralized_registration(
        ClassificationConfig, {"smoke": FEDAVG_CLASSIFIER_SMOKE, "quality": FEDAVG_CLASSIFIER_QUALITY}
    ),
    claim=Claim(
        statement="The MLP classifier trained on all the digits reaches at least 95% held-out accuracy.",
        runs={"centralized": ClaimRun(implementation="centralized-classifier")},
        checks=[Check(metric="test_accuracy", run="centralized", op=">=", against=0.95)],
    ),
)
class CentralizedClassifier(FedAvgClassifierAlgorithm):
    """Same server and client logic as FedAvg of a classifier; only the config differs (one client)."""
