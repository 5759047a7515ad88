"""The CTGAN encoding of a table, fitted across clients without pooling their rows (as Fed-TGAN builds it).

CTGAN trains on ctgan's ``DataTransformer`` output: each continuous column becomes a scalar in [-1, 1]
plus the one-hot of its Gaussian-mixture mode (mode-specific normalisation with rdt's
``ClusterBasedNormalizer``), each discrete column a one-hot. Fitting it centrally would pool every
client's raw rows, so it is built in two steps:

1. each client fits rdt's ``ClusterBasedNormalizer`` (a Bayesian GMM) to each of its continuous
   columns and counts the categories of each discrete column, on its own rows only
   (:func:`summarise`); these summaries are all that leaves a client;
2. the server draws a pseudo-table from the summaries (continuous values from the clients' mixtures
   weighted by their row counts, categories in proportion to their summed counts; columns drawn
   independently) and fits ctgan's ``DataTransformer`` on it (:func:`merge`). Every party then uses
   that one transformer, so all clients share one encoded space and the GAN's widths.

What the summaries reveal: each client's row count, an approximation of each continuous column's
marginal density (up to ``max_clusters`` mode weights, means and standard deviations), and the exact
category counts of each discrete column, the label distribution included. No row, and no joint
information across columns, leaves a client.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from ctgan.data_transformer import DataTransformer
from pydantic import BaseModel, ConfigDict, Field
from rdt.transformers import ClusterBasedNormalizer

from fedgen_registry.data.tabular_sampling import ConditionSampler

_CHUNK = 499
"""ctgan transforms 500 rows or more in joblib worker processes, whose start-up takes seconds; chunks stay in-process."""


class EncodingConfig(BaseModel):
    """How the mode-specific normalisation is fitted (ctgan's ``DataTransformer`` settings plus the pseudo-table)."""

    model_config = ConfigDict(extra="forbid")

    max_clusters: int = Field(10, ge=1, description="Most Gaussian modes per continuous column (CTGAN: 10).")
    weight_threshold: float = Field(0.005, gt=0, lt=1, description="Smallest weight of a mode that is kept.")
    pseudo_rows: int = Field(
        500, ge=10, description="Rows of the pseudo-table, drawn from the client summaries, that the server fits on."
    )


@dataclass(frozen=True)
class ColumnSummary:
    """What one client reveals about one column: its mixture modes (continuous) or category counts (discrete)."""

    name: str
    dtype: str
    weights: list[float] = field(default_factory=list)
    means: list[float] = field(default_factory=list)
    stds: list[float] = field(default_factory=list)
    counts: dict[Any, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ClientSummary:
    rows: int
    columns: list[ColumnSummary]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready (category values become strings), for the run directory's record of what left a client."""
        record = asdict(self)
        for column in record["columns"]:
            column["counts"] = {str(value): count for value, count in column["counts"].items()}
        return record


def summarise(frame: pd.DataFrame, discrete: tuple[str, ...], config: EncodingConfig) -> ClientSummary:
    """Client side: per-column statistics of this client's rows only."""
    columns = []
    for name in frame.columns:
        dtype = str(frame[name].dtype)
        if name in discrete:
            counts = frame[name].value_counts(sort=False)
            columns.append(ColumnSummary(name, dtype, counts={_plain(k): int(v) for k, v in counts.items()}))
            continue
        normalizer = ClusterBasedNormalizer(
            missing_value_generation="from_column",
            max_clusters=min(len(frame), config.max_clusters),
            weight_threshold=config.weight_threshold,
        )
        normalizer.fit(frame[[name]], name)
        mixture, valid = normalizer._bgm_transformer, normalizer.valid_component_indicator  # documented attributes
        weights = mixture.weights_[valid]
        columns.append(
            ColumnSummary(
                name,
                dtype,
                weights=(weights / weights.sum()).tolist(),
                means=mixture.means_.ravel()[valid].tolist(),
                stds=np.sqrt(mixture.covariances_.ravel()[valid]).tolist(),
            )
        )
    return ClientSummary(len(frame), columns)


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds, so categories compare and serialise plainly."""
    return value.item() if isinstance(value, np.generic) else value


def encode(transformer: DataTransformer, frame: pd.DataFrame, seed: int) -> np.ndarray:
    """Rows of ``frame`` in the encoded space, as float32, the same for the same frame and ``seed``.

    Mode-specific normalisation draws each value's mode from its posterior. rdt keeps the random state
    of that draw on each column's transformer and advances it with every call, so without a reseed a
    frame's encoding would depend on how many frames the transformer encoded before: a Flower node,
    which rebuilds its client (and re-encodes its rows) for every message, would train on other rows
    than the local engine's client, built once.
    """
    for column, info in enumerate(transformer._column_transform_info_list):  # ctgan keeps no public list
        info.transform.set_random_state(np.random.RandomState((seed + column) % 2**32), "transform")
    parts = [transformer.transform(frame.iloc[i : i + _CHUNK]) for i in range(0, len(frame), _CHUNK)]
    return np.concatenate(parts).astype(np.float32)


@dataclass(frozen=True)
class Encoding:
    """The shared transformer, and the category frequencies generation conditions on (from the summaries)."""

    transformer: DataTransformer
    conditions: ConditionSampler

    @property
    def output_info(self) -> list:
        return self.transformer.output_info_list

    @property
    def dim(self) -> int:
        return int(self.transformer.output_dimensions)

    @property
    def cond_dim(self) -> int:
        return self.conditions.dim

    def encode(self, frame: pd.DataFrame, seed: int) -> np.ndarray:
        return encode(self.transformer, frame, seed)

    def decode(self, rows: np.ndarray) -> pd.DataFrame:
        """Rows of the encoded space back to a frame with the table's columns and dtypes."""
        return self.transformer.inverse_transform(np.asarray(rows, dtype=np.float64))


def merge(summaries: list[ClientSummary], discrete: tuple[str, ...], config: EncodingConfig, seed: int) -> Encoding:
    """Server side: fit ctgan's ``DataTransformer`` on a pseudo-table drawn from the client summaries."""
    rng = np.random.default_rng(seed)
    rows = np.array([s.rows for s in summaries], dtype=np.float64)
    pseudo = {}
    for j, first in enumerate(summaries[0].columns):
        columns = [s.columns[j] for s in summaries]
        if first.name in discrete:
            values = pd.Series(_categories(columns, config.pseudo_rows, rng))
        else:
            values = pd.Series(_mixture(columns, rows, config.pseudo_rows, rng))
            if pd.api.types.is_integer_dtype(first.dtype):
                values = values.round()
        pseudo[first.name] = values.astype(first.dtype)
    frame = pd.DataFrame(pseudo)
    transformer = DataTransformer(max_clusters=config.max_clusters, weight_threshold=config.weight_threshold)
    transformer.fit(frame, list(discrete))
    # generation conditions follow the summed category frequencies (log_frequency=False: not flattened)
    conditions = ConditionSampler(encode(transformer, frame, seed), transformer.output_info_list, log_frequency=False)
    return Encoding(transformer, conditions)


def _mixture(columns: list[ColumnSummary], rows: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Draws from the clients' mixtures, each client weighted by its share of the rows."""
    weights = np.concatenate([r / rows.sum() * np.asarray(c.weights) for r, c in zip(rows, columns, strict=True)])
    means = np.concatenate([c.means for c in columns])
    stds = np.concatenate([c.stds for c in columns])
    mode = rng.choice(len(weights), size=size, p=weights / weights.sum())
    return rng.normal(means[mode], stds[mode])


def _categories(columns: list[ColumnSummary], size: int, rng: np.random.Generator) -> np.ndarray:
    """Every category any client holds once (so the encoding knows it), the rest drawn by summed counts."""
    totals: dict[Any, int] = {}
    for column in columns:
        for value, count in column.counts.items():
            totals[value] = totals.get(value, 0) + count
    categories = sorted(totals)
    if len(categories) > size:
        raise ValueError(f"{len(categories)} categories do not fit a pseudo-table of {size} rows; raise pseudo_rows")
    shares = np.array([totals[c] for c in categories], dtype=np.float64)
    drawn = rng.choice(len(categories), size=size - len(categories), p=shares / shares.sum())
    index = rng.permutation(np.concatenate([np.arange(len(categories)), drawn]))
    return np.asarray(categories, dtype=object)[index]
