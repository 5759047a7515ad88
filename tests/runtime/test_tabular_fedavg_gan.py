"""FedAvg-Tabular-GAN: the aggregate is the size-weighted mean; synthetic rows have the real schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from fedgen_registry.federation.local import Delivery, LocalEngine
from fedgen_registry.federation.seeding import deterministic
from fedgen_registry.registry import get_implementation
from fedgen_registry.runs.runner import build_config

TINY = {
    "data.max_features": 3,
    "encoding.max_clusters": 3,
    "encoding.pseudo_rows": 100,
    "eval.samples": 60,
    "local_steps": 2,
}


def _engine(run_dir: Path, observer: Any = None, **overrides: Any) -> LocalEngine:
    spec = get_implementation("fedavg-tabular-gan")
    config = build_config(spec, "smoke", {**TINY, **overrides})
    return LocalEngine(spec.target(config, run_dir), run_dir, quiet=True, observer=observer)


def test_aggregate_is_the_size_weighted_mean_of_client_networks(tmp_path) -> None:
    replies: dict[int, dict] = {}

    def spy(delivery: Delivery) -> None:
        if delivery.direction == "up":
            replies[delivery.client] = {"arrays": dict(delivery.message.arrays), **delivery.message.config}

    engine = _engine(tmp_path, spy, rounds=1, clients=4, **{"data.partition": "quantity", "data.alpha": 0.5})
    engine.run()
    order = sorted(replies)
    sizes = np.array([replies[c]["num_examples"] for c in order], dtype=np.float64)
    assert sizes.tolist() == [len(engine.algorithm.parts[c]) for c in order] and len(set(sizes)) > 1
    server = {"g." + k: v for k, v in engine.server.generator.state_dict().items()}
    server |= {"d." + k: v for k, v in engine.server.discriminator.state_dict().items()}
    weighed = []
    for name, value in server.items():
        if not value.is_floating_point():
            continue  # batch norm's step counter
        stacked = np.stack([replies[c]["arrays"][name].numpy().astype(np.float64) for c in order])
        expected = np.tensordot(sizes / sizes.sum(), stacked, axes=1)
        assert torch.allclose(value, torch.from_numpy(expected.astype(np.float32)), rtol=1e-6, atol=1e-7), name
        if not np.allclose(value.numpy(), stacked.mean(axis=0), rtol=1e-5, atol=1e-6):
            weighed.append(name)
    assert {"g.seq.0.fc.weight", "d.seq.0.weight"} <= set(weighed)  # weighting, not a plain mean, was checked


def test_synthetic_rows_have_the_real_columns_and_dtypes(tmp_path) -> None:
    engine = _engine(tmp_path, rounds=2)
    engine.run()
    with deterministic(threads=1):  # as the engine judges a run: spinning OpenMP threads are slow here
        metrics = engine.algorithm.finish(engine.server)
    table = engine.algorithm.table
    synthetic = pd.read_csv(tmp_path / "samples.csv")
    assert list(synthetic.columns) == list(table.train.columns) and len(synthetic) == 60
    assert (synthetic.dtypes == table.train.dtypes).all()
    assert set(synthetic[table.target]) <= set(table.classes)
    assert 0.0 <= metrics["quality_score"] <= 1.0 and 0.0 <= metrics["tstr_accuracy"] <= 1.0
    assert (tmp_path / "encoding_summaries.json").exists() and (tmp_path / "partition.json").exists()
