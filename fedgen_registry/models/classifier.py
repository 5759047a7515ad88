"""The classifier that federated-classification runs train: an MLP over flattened images.

Kept apart from the metrics' feature classifier (:mod:`fedgen_registry.metrics.image`), which is trained
once, centrally, to judge generators; this one is what the heterogeneity strand's federations learn.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from torch import nn


class ClassifierConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hidden: int = Field(128, ge=1, description="Width of the two hidden layers.")


class MLPClassifier(nn.Module):
    """Flattened image -> hidden -> hidden -> class logits."""

    def __init__(self, in_dim: int, hidden: int, num_classes: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, num_classes)
        )

    def forward(self, x):
        return self.net(x)
