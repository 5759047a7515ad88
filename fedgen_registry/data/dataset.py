"""The :class:`Dataset` every loader returns, on its own so the loaders and :mod:`.datasets` share it without a cycle."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Dataset:
    """Features ``x`` (n, d) float32, labels ``y`` (n,) int64, and how to view a row (``shape``)."""

    name: str
    x: np.ndarray
    y: np.ndarray
    shape: tuple[int, ...]
    num_classes: int

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, indices: np.ndarray) -> Dataset:
        return Dataset(self.name, self.x[indices], self.y[indices], self.shape, self.num_classes)
