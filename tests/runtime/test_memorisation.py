"""Memorisation is measured: copied training rows are flagged, fresh real rows and a trained generator are not."""

from __future__ import annotations

import json

import numpy as np
import pytest

import fedgen_registry
from fedgen_registry.data.datasets import load_split
from fedgen_registry.metrics.memorisation import closest_record_distances, memorisation_report


@pytest.fixture(scope="module")
def digits():
    return load_split("digits")


def test_closest_record_distances_are_exact() -> None:
    records = np.array([[0.0, 0.0], [3.0, 4.0]])
    points = np.array([[0.0, 1.0], [3.0, 4.0], [6.0, 8.0]])
    assert closest_record_distances(points, records) == pytest.approx([1.0, 0.0, 5.0])


def test_copied_and_lightly_noised_training_rows_are_flagged(digits) -> None:
    train, test = digits
    copies = train.x[:360]
    report = memorisation_report(copies, train, test)
    assert report["dcr_median"] == 0.0 and report["copied_fraction"] == 1.0 and report["copies_flagged"]
    noised = copies + np.random.default_rng(0).normal(0, 0.01, copies.shape)
    assert memorisation_report(noised, train, test)["copies_flagged"]


def test_fresh_real_rows_are_not_copies(digits) -> None:
    train, test = digits
    report = memorisation_report(test.x[-180:], train, test)  # held-out rows other than the first 180 it reads
    assert 0.8 < report["dcr_ratio"] < 1.25
    assert not report["copies_flagged"]


def test_every_image_run_reports_it(tmp_path) -> None:
    fedgen_registry.run("fedavg-gan", preset="smoke", out=tmp_path, quiet=True, rounds=2)
    metrics = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert {"dcr_ratio", "copied_fraction", "copies_flagged"} <= set(metrics)
    assert metrics["copies_flagged"] is False
