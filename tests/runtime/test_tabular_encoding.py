"""The federated CTGAN encoding: built from client summaries alone, it round-trips rows; tables load and split."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fedgen_registry.data.partition import iid
from fedgen_registry.data.tabular import TableConfig, load_table, vertical_columns
from fedgen_registry.data.tabular_encoding import EncodingConfig, merge, summarise

ENCODING = EncodingConfig(max_clusters=3, pseudo_rows=200)


def _federated(table, clients: int = 3):
    parts = iid(len(table.train), clients, np.random.default_rng(0))
    summaries = [summarise(table.train.iloc[p], table.discrete, ENCODING) for p in parts]
    return summaries, merge(summaries, table.discrete, ENCODING, seed=0)


def test_encoding_from_summaries_round_trips_rows() -> None:
    table = load_table(TableConfig(name="wine", max_features=4))
    _, encoding = _federated(table)
    encoded = encoding.encode(table.test, seed=0)
    assert encoded.shape == (len(table.test), encoding.dim) and np.abs(encoded).max() <= 1.0
    back = encoding.decode(encoded)
    assert list(back.columns) == list(table.test.columns)
    assert (back.dtypes == table.test.dtypes).all()
    assert (back[table.target] == table.test[table.target]).all()
    continuous = [c for c in table.test.columns if c not in table.discrete]
    close = np.isclose(back[continuous].to_numpy(), table.test[continuous].to_numpy(), rtol=1e-6, atol=1e-9)
    assert close.mean() > 0.97  # only values beyond 4 standard deviations of their mode are clipped


def test_only_per_column_statistics_leave_a_client() -> None:
    table = load_table(TableConfig(name="breast-cancer", max_features=3))
    small, large = (summarise(table.train.iloc[:n], table.discrete, ENCODING) for n in (60, 400))
    for summary, rows in ((small, 60), (large, 400)):
        record = summary.to_json()
        assert record["rows"] == rows
        numbers = [x for c in record["columns"] for key in ("weights", "means", "stds") for x in c[key]]
        assert len(numbers) <= 3 * ENCODING.max_clusters * 3  # O(columns x modes), not O(rows)
        cells = set(table.train.iloc[:rows].drop(columns=table.target).to_numpy().ravel().tolist())
        assert not cells & set(numbers)  # no raw value is copied out
        assert sum(record["columns"][-1]["counts"].values()) == rows  # the label counts are revealed, exactly
    json.dumps([small.to_json(), large.to_json()])


def test_merged_categories_cover_every_client() -> None:
    table = load_table(TableConfig(name="wine", max_features=2))
    order = np.argsort(table.labels, kind="stable")
    halves = [order[: len(order) // 2], order[len(order) // 2 :]]  # label-sorted: clients see different classes
    summaries = [summarise(table.train.iloc[h], table.discrete, ENCODING) for h in halves]
    assert all(len(s.columns[-1].counts) < len(table.classes) for s in summaries)
    encoding = merge(summaries, table.discrete, ENCODING, seed=0)
    decoded = encoding.decode(encoding.encode(table.test, seed=0))
    assert set(decoded[table.target]) == set(table.classes)


def test_vertical_columns_split_features_disjointly() -> None:
    table = load_table(TableConfig(name="wine"))
    columns = vertical_columns(table, parties=3, seed=0)
    features = [c for c in table.train.columns if c != table.target]
    flat = [c for part in columns for c in part if c != table.target]
    assert sorted(flat) == sorted(features) and len(flat) == len(set(flat))
    assert table.target in columns[0] and all(table.target not in part for part in columns[1:])


def test_csv_tables_infer_discrete_columns(tmp_path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 90, 100),
            "income": rng.normal(50, 10, 100),
            "city": rng.choice(["paris", "lyon", "nice"], 100),
            "label": rng.choice(["yes", "no"], 100),
        }
    )
    frame.loc[3, "income"] = np.nan
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    table = load_table(TableConfig(name="csv", path=str(path), target="label"))
    assert set(table.discrete) == {"city", "label"}
    assert len(table.train) + len(table.test) == 99  # the row with a missing value is dropped
    with pytest.raises(ValueError, match="path"):
        TableConfig(name="csv")
