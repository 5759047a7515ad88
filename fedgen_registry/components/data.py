"""Datasets as plain arrays, loaded offline. The embedded default is scikit-learn's 8x8 digits.

Images are flattened to ``float32`` vectors in [-1, 1] (the range of a ``tanh`` generator). The
train/test split is fixed (seed 0, stratified) and independent of the run's seed, so the held-out
images that metrics compare against, and the cached metrics classifier, are the same for every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

TEST_FRACTION = 0.2


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


@cache
def digits_split() -> tuple[Dataset, Dataset]:
    """The digits train and test sets (1,437 / 360 images of 8x8 pixels, 10 classes)."""
    bunch = load_digits()
    x = (bunch.data.astype(np.float32) / 8.0 - 1.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    x.setflags(write=False)  # cached and shared: nobody may change it in place
    y.setflags(write=False)
    full = Dataset("digits", x, y, (1, 8, 8), 10)
    train, test = train_test_split(np.arange(len(y)), test_size=TEST_FRACTION, random_state=0, stratify=y)
    return full.subset(np.sort(train)), full.subset(np.sort(test))


DATASETS = {"digits": digits_split}


def load_split(name: str) -> tuple[Dataset, Dataset]:
    try:
        return DATASETS[name]()
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}") from None
