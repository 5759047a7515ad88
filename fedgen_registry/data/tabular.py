"""Tables as pandas frames, loaded offline: scikit-learn's breast cancer and wine, or any CSV file.

The train/test split is fixed (seed 0, stratified on the target) and independent of the run's seed, so
every run is judged against the same held-out rows. Rows go to clients through the project's row
partitioners (label skew follows the target column); :func:`vertical_columns` splits the columns instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.model_selection import train_test_split

from fedgen_registry.data.partition import PartitionConfig, vertical

TEST_FRACTION = 0.2
_BUILTIN = {"breast-cancer": load_breast_cancer, "wine": load_wine}


class TableConfig(PartitionConfig):
    """Which table, which of its columns are discrete, and how its training rows are split among clients."""

    name: Literal["breast-cancer", "wine", "csv"] = "breast-cancer"
    path: str | None = Field(None, description="The CSV file (name: csv); rows with a missing value are dropped.")
    target: str = Field("target", description="The label column: it drives label skew and the TSTR classifier.")
    discrete: list[str] | None = Field(
        None, description="Discrete columns (None: the target and every column that is not numeric)."
    )
    max_features: int | None = Field(
        None, ge=1, description="Keep only the first k feature columns (and the target); None keeps all."
    )

    @model_validator(mode="after")
    def _csv_needs_path(self) -> TableConfig:
        if (self.name == "csv") != (self.path is not None):
            raise ValueError("data.path is required for name 'csv' and only for it")
        return self


@dataclass(frozen=True)
class Table:
    """Training and held-out rows of one table, with its label column and its discrete columns."""

    name: str
    train: pd.DataFrame
    test: pd.DataFrame
    target: str
    discrete: tuple[str, ...]

    @property
    def labels(self) -> np.ndarray:
        """The target of each training row as class codes 0..k-1 (what the row partitioners read)."""
        return _codes(self.train[self.target], self.classes)

    @property
    def classes(self) -> np.ndarray:
        return np.sort(pd.concat([self.train[self.target], self.test[self.target]]).unique())

    def metadata(self) -> dict:
        """The table's sdmetrics metadata: discrete columns are categorical, the others numerical."""
        return {
            "columns": {
                name: {"sdtype": "categorical" if name in self.discrete else "numerical"} for name in self.train.columns
            }
        }


def _codes(values: pd.Series, classes: np.ndarray) -> np.ndarray:
    return np.searchsorted(classes, values.to_numpy()).astype(np.int64)


def load_table(config: TableConfig) -> Table:
    """The table named by ``config``, split into fixed training and held-out rows.

    Tables are cached and shared by every caller: select rows and columns, never modify them in place.
    """
    discrete = None if config.discrete is None else tuple(config.discrete)
    return _load(config.name, config.path, config.target, discrete, config.max_features)


@cache
def _load(
    name: str, path: str | None, target: str, discrete: tuple[str, ...] | None, max_features: int | None
) -> Table:
    frame = _read(name, path)
    if target not in frame.columns:
        raise ValueError(f"table {name!r} has no target column {target!r}; columns: {', '.join(frame.columns)}")
    features = [c for c in frame.columns if c != target][:max_features]
    frame = frame[[*features, target]]
    if discrete is None:
        discrete = tuple(c for c in frame.columns if c == target or not pd.api.types.is_numeric_dtype(frame[c]))
    elif missing := sorted(set(discrete) - set(frame.columns)):
        raise ValueError(f"discrete columns {missing} are not columns of table {name!r}")
    elif target not in discrete:
        discrete = (*discrete, target)
    codes = pd.factorize(frame[target], sort=True)[0]
    train, test = train_test_split(np.arange(len(frame)), test_size=TEST_FRACTION, random_state=0, stratify=codes)
    rows = frame.reset_index(drop=True)
    test_rows = rows.iloc[np.sort(test)].reset_index(drop=True)
    return Table(name, rows.iloc[np.sort(train)].reset_index(drop=True), test_rows, target, discrete)


def _read(name: str, path: str | None) -> pd.DataFrame:
    if name == "csv":
        if path is None or not Path(path).is_file():
            raise ValueError(f"no CSV file at {path!r}")
        return pd.read_csv(path).dropna().reset_index(drop=True)
    return _BUILTIN[name](as_frame=True).frame


def vertical_columns(table: Table, parties: int, seed: int) -> list[list[str]]:
    """A vertical split: each party holds a disjoint random set of feature columns; party 0 also holds the target."""
    features = [c for c in table.train.columns if c != table.target]
    parts = vertical(len(features), parties, np.random.default_rng(seed))
    columns = [[features[int(i)] for i in part] for part in parts]
    columns[0].append(table.target)
    return columns
