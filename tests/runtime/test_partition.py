"""Partitioners: disjoint and complete, seeded, and skewed exactly where they should be."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fedgen_registry.data.datasets import digits_split
from fedgen_registry.data.partition import (
    PartitionConfig,
    class_histogram,
    partition_rows,
    vertical,
)
from fedgen_registry.metrics.artefacts import save_partition_report

LABELS = digits_split()[0].y


def assert_disjoint_cover(parts: list[np.ndarray], n: int) -> None:
    joined = np.concatenate(parts)
    assert len(joined) == n and len(np.unique(joined)) == n and joined.min() == 0 and joined.max() == n - 1


def label_share_of_top_class(histogram: np.ndarray) -> float:
    """Mean over clients of the share held by the client's most frequent class (0.1 = uniform over 10)."""
    return float((histogram.max(axis=1) / histogram.sum(axis=1)).mean())


@pytest.mark.parametrize(
    "settings",
    [
        {"partition": "iid"},
        {"partition": "dirichlet", "alpha": 0.1},
        {"partition": "dirichlet", "alpha": 100.0},
        {"partition": "shards", "labels_per_client": 2},
        {"partition": "quantity", "alpha": 0.5},
    ],
)
def test_row_partitions_are_disjoint_complete_and_seeded(settings: dict) -> None:
    config = PartitionConfig(**settings)
    parts = partition_rows(LABELS, 10, config, seed=7)
    assert len(parts) == 10 and all(len(p) >= 1 for p in parts)
    assert_disjoint_cover(parts, len(LABELS))
    again = partition_rows(LABELS, 10, config, seed=7)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again, strict=True))


def test_iid_is_near_uniform_and_small_alpha_dirichlet_is_skewed() -> None:
    iid = class_histogram(LABELS, partition_rows(LABELS, 10, PartitionConfig(partition="iid"), 0), 10)
    skewed = class_histogram(
        LABELS, partition_rows(LABELS, 10, PartitionConfig(partition="dirichlet", alpha=0.1), 0), 10
    )
    assert np.ptp(iid.sum(axis=1)) <= 1  # equal sizes
    assert label_share_of_top_class(iid) < 0.2  # about 0.1 each class
    assert label_share_of_top_class(skewed) > 0.5
    assert min(partition_rows(LABELS, 10, PartitionConfig(partition="dirichlet", alpha=0.1), 0), key=len).size >= 2


def test_shards_give_each_client_exactly_k_labels_and_quantity_skew_keeps_labels_mixed() -> None:
    shard_hist = class_histogram(
        LABELS, partition_rows(LABELS, 10, PartitionConfig(partition="shards", labels_per_client=2), 3), 10
    )
    assert ((shard_hist > 0).sum(axis=1) == 2).all()
    sizes = [len(p) for p in partition_rows(LABELS, 10, PartitionConfig(partition="quantity", alpha=0.3), 3)]
    assert max(sizes) > 3 * min(sizes)
    with pytest.raises(ValueError, match="cannot cover"):
        partition_rows(LABELS, 3, PartitionConfig(partition="shards", labels_per_client=2), 0)


def test_vertical_split_partitions_columns() -> None:
    columns = vertical(64, 3, np.random.default_rng(0))
    assert_disjoint_cover(columns, 64)
    assert [len(c) for c in columns] == [22, 21, 21]


def test_partition_report_writes_json_and_png(tmp_path: Path) -> None:
    histogram = class_histogram(LABELS, partition_rows(LABELS, 4, PartitionConfig(), 0), 10)
    save_partition_report(histogram, tmp_path)
    report = json.loads((tmp_path / "partition.json").read_text())
    assert report["histogram"] == histogram.tolist() and sum(report["sizes"]) == len(LABELS)
    assert (tmp_path / "partition.png").read_bytes()[:4] == b"\x89PNG"


def test_many_clients_get_a_heat_map_of_a_fixed_size(tmp_path: Path) -> None:
    """A bar per client would make a thousand clients' figure 45,000 pixels wide (and seconds to draw)."""
    import matplotlib.pyplot as plt

    histogram = np.ones((1000, 10), dtype=int)
    save_partition_report(histogram, tmp_path)
    height, width = plt.imread(tmp_path / "partition.png").shape[:2]
    assert width <= 1000 and height <= 400
