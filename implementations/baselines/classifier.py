"""The centralized classifier: see :mod:`fedgen_registry.implementations.baselines` for what a twin is.

The ceiling of the heterogeneity strand: the same classifier and steps on one client holding every row.
"""

from __future__ import annotations

from fedgen_registry.registry import register
from fedgen_registry.strategies.classification import FEDAVG_CLASSIFIER_SMOKE, FedAvgClassifierAlgorithm
from fedgen_registry.tasks.centralized import centralized_registration
from fedgen_registry.tasks.classification import ClassificationConfig


@register(
    "centralized-classifier",
    family="classifier",
    summary="Centralized classifier: the FedAvg classifier's network and steps on all the data at one place.",
    **centralized_registration(ClassificationConfig, {"smoke": FEDAVG_CLASSIFIER_SMOKE}),
)
class CentralizedClassifier(FedAvgClassifierAlgorithm):
    """Same server and client logic as FedAvg of a classifier; only the config differs (one client)."""
