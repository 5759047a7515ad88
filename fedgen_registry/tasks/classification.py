"""Federated classification on a partitioned image dataset: the victim and the yardstick of two strands.

The heterogeneity strand's papers fix what non-IID clients do to a federated classifier, and the
attack strand's papers attack one; both judge it the way those papers do, by its accuracy on the whole
held-out split (one model, every client's distribution at once). The task loads and splits the data as
every image task does (:class:`~fedgen_registry.tasks.partitioned.PartitionedImages`), builds the
classifier, and judges the final one; how it is trained across clients is a strategy's.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import torch
from pydantic import Field
from torch import nn
from torch.nn import functional

from fedgen_registry.federation.config import FederationConfig
from fedgen_registry.metrics.attacks import global_test_accuracy
from fedgen_registry.models.classifier import ClassifierConfig, MLPClassifier
from fedgen_registry.tasks.image_family import AdamConfig
from fedgen_registry.tasks.partitioned import DataConfig, PartitionedImages


class ClassificationConfig(FederationConfig):
    data: DataConfig = DataConfig()
    model: ClassifierConfig = ClassifierConfig()
    optim: AdamConfig = AdamConfig()
    local_steps: int = Field(10, ge=1, description="Adam steps per client per round.")


ConfigT = TypeVar("ConfigT", bound=ClassificationConfig)


class CrossEntropy:
    """The classifier's objective: cross-entropy of its logits against the rows' labels."""

    def loss(self, model: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        loss = functional.cross_entropy(model(x), labels)
        return loss, {"loss": float(loss.item())}


class ClassificationTask(PartitionedImages[ConfigT], Generic[ConfigT]):
    """The partitioned images, a classifier built alike for every method, and its global test accuracy."""

    objective = CrossEntropy()

    def new_model(self) -> nn.Module:
        return MLPClassifier(self.train.x.shape[1], self.config.model.hidden, self.train.num_classes)

    def judge(self, model: nn.Module) -> dict[str, Any]:
        """Accuracy on the whole held-out split, and the label skew the clients had (for reading it)."""
        sizes = [len(part) for part in self.parts]
        return {
            "test_accuracy": global_test_accuracy(model, self.test),
            "smallest_client_rows": min(sizes),
            "largest_client_rows": max(sizes),
        }
