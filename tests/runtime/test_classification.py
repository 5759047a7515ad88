"""The classification task: FedAvg learns a classifier, label skew costs it accuracy, one client holding everything is the ceiling."""

from __future__ import annotations

import json

import fedgen_registry


def accuracy(tmp_path, implementation: str, **overrides) -> float:
    run_dir = tmp_path / f"{implementation}-{len(list(tmp_path.iterdir()))}"
    fedgen_registry.run(implementation, preset="smoke", out=run_dir, quiet=True, **overrides)
    return json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))["test_accuracy"]


def test_fedavg_learns_label_skew_costs_it_and_centralized_is_the_ceiling(tmp_path) -> None:
    iid = accuracy(tmp_path, "fedavg-classifier")
    skewed = accuracy(tmp_path, "fedavg-classifier", **{"data.partition": "dirichlet", "data.alpha": 0.05})
    central = accuracy(tmp_path, "centralized-classifier")
    assert iid > 0.9, f"FedAvg on IID digits should learn the classifier (got {iid:.3f})"
    assert skewed < iid - 0.02, f"Dirichlet(0.05) label skew should cost FedAvg accuracy ({skewed:.3f} vs {iid:.3f})"
    assert central >= iid - 0.01, f"the centralized twin is the ceiling ({central:.3f} vs {iid:.3f})"


def test_the_split_is_the_one_every_image_task_gets(tmp_path) -> None:
    """A classifier and a GAN with the same settings see the same clients (the shared PartitionedImages)."""
    settings = {"rounds": 1, "clients": 5, "data.partition": "dirichlet", "data.alpha": 0.3}
    fedgen_registry.run("fedavg-classifier", preset="smoke", out=tmp_path / "cls", quiet=True, **settings)
    fedgen_registry.run(
        "fedavg-gan", preset="smoke", out=tmp_path / "gan", quiet=True, **settings, **{"eval.samples": 64}
    )
    partitions = [json.loads((tmp_path / run / "partition.json").read_text()) for run in ("cls", "gan")]
    assert partitions[0] == partitions[1]
