"""Datasets as plain arrays, loaded offline. The embedded default is scikit-learn's 8x8 digits.

The real-scale image sets (:data:`REAL_DATASETS`) are read from local files by
:mod:`~fedgen_registry.data.realdata`, from ``root`` or ``$FEDGEN_DATA/<name>`` (``data/<name>``
when the variable is unset); nothing is ever downloaded, and a missing file is a one-line error that
names the files expected.

Images are flattened to ``float32`` vectors in [-1, 1] (the range of a ``tanh`` generator). The
train/test split is fixed (seed 0, stratified) and independent of the run's seed, so the held-out
images that metrics compare against, and the cached metrics classifier, are the same for every run.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from fedgen_registry.data.dataset import Dataset
from fedgen_registry.data.realdata import load_real_split

TEST_FRACTION = 0.2


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
REAL_DATASETS = ("mnist", "fashion-mnist", "cifar10", "celeba")


def data_root(name: str, root: str | Path | None = None) -> Path:
    """Where a real-scale dataset's files are looked for: ``root`` if given, else ``$FEDGEN_DATA/<name>``."""
    folder = Path(root) if root is not None else Path(os.environ.get("FEDGEN_DATA") or "data") / name
    return folder.expanduser().absolute()


def load_split(name: str, root: str | Path | None = None) -> tuple[Dataset, Dataset]:
    """Train and test split of ``name``; ``root`` only matters for the real-scale datasets."""
    if name in REAL_DATASETS:
        return load_real_split(name, data_root(name, root))
    try:
        return DATASETS[name]()
    except KeyError:
        available = ", ".join([*DATASETS, *REAL_DATASETS])
        raise ValueError(f"unknown dataset {name!r}; available: {available}") from None
