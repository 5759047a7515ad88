"""Partition settings drawn at random over the digits' labels: a split that keeps its promises, or one line."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from fedgen_registry.data.datasets import load_split
from fedgen_registry.data.partition import PartitionConfig, partition_rows
from fuzz.one_line import assert_one_line

LABELS = load_split("digits", None)[0].y


@given(
    partition=st.sampled_from(["iid", "dirichlet", "shards", "quantity"]),
    clients=st.integers(1, 1600),
    alpha=st.floats(1e-3, 1e3),
    min_size=st.integers(1, 40),
    labels_per_client=st.integers(1, 12),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_partition_keeps_its_promises_or_says_why(
    partition: str, clients: int, alpha: float, min_size: int, labels_per_client: int, seed: int
) -> None:
    try:
        config = PartitionConfig(
            partition=partition, alpha=alpha, min_size=min_size, labels_per_client=labels_per_client
        )
        parts = partition_rows(LABELS, clients, config, seed)
    except (ValueError, ValidationError) as exc:
        if not isinstance(exc, ValidationError):  # pydantic's own report is several lines; the CLI reformats it
            assert_one_line(exc)
        return
    assert len(parts) == clients
    rows = np.concatenate(parts)
    assert len(rows) == len(np.unique(rows)) and rows.min() >= 0 and rows.max() < len(LABELS)  # disjoint, in range
    sizes = [len(part) for part in parts]
    assert min(sizes) >= (min_size if partition in ("dirichlet", "quantity") else 1)
    if partition == "shards":
        assert all(len(np.unique(LABELS[part])) <= labels_per_client for part in parts)
