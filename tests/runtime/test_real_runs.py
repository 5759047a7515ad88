"""Image GANs on real-scale datasets from local files, and the convolutional networks, end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from fedgen_registry.cli import main
from fedgen_registry.federation.checkpoint import load_checkpoint
from fedgen_registry.runs.runner import run
from runtime.settings import FAST_EVAL
from runtime.test_realdata import write_idx

TINY = {"rounds": 1, "clients": 2, "local_steps": 1, "model.architecture": "conv", "model.width": 8, **FAST_EVAL}


def fake_mnist(root: Path, train: int = 64, test: int = 16) -> Path:
    """The four MNIST IDX files holding random 28x28 images and labels."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    for prefix, count in (("train", train), ("t10k", test)):
        write_idx(root / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (count, 28, 28)))
        write_idx(root / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, count))
    return root


def parameter_names(state: Any, prefix: str = "") -> set[str]:
    """Every key path of a nested checkpoint state, dotted."""
    if not isinstance(state, dict):
        return {prefix}
    return {name for key, value in state.items() for name in parameter_names(value, f"{prefix}{key}.")}


def test_conv_fedavg_gan_on_mnist_files_runs_and_is_judged_on_its_own_classifier(tmp_path: Path) -> None:
    root = fake_mnist(tmp_path / "mnist")
    out = tmp_path / "run"
    settings = [arg for key, value in {**TINY, "data.root": root}.items() for arg in ("--set", f"{key}={value}")]
    command = ["run", "fedavg-gan", "--preset", "smoke", "--set", "data.name=mnist", *settings, "-q", "--out"]
    result = CliRunner().invoke(main, [*command, str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "samples.png").exists()
    metrics = json.loads((out / "metrics.json").read_text())
    assert np.isfinite(metrics["kid"]) and "kid_note" not in metrics  # features of a classifier of these files
    assert 0.0 <= metrics["classifier_test_accuracy"] <= 1.0
    partition = json.loads((out / "partition.json").read_text())
    assert sum(partition["sizes"]) == 64  # the fake files were read, not some other data
    names = parameter_names(load_checkpoint(out / "checkpoints" / "last.pt")["state"])
    assert any("decoder.body" in name for name in names) and any("encoder.body" in name for name in names)


def test_missing_dataset_files_are_one_line_naming_them(tmp_path: Path) -> None:
    command = ["run", "fedavg-gan", "--preset", "smoke", "--set", "data.name=fashion-mnist", "--set"]
    result = CliRunner().invoke(main, [*command, f"data.root={tmp_path}", "-q", "--out", str(tmp_path / "run")])
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "train-images-idx3-ubyte" in lines[0] and str(tmp_path) in lines[0], result.output


def test_the_default_root_is_under_fedgen_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_mnist(tmp_path / "mnist")
    monkeypatch.setenv("FEDGEN_DATA", str(tmp_path))
    result = run("fedavg-gan", preset="smoke", out=tmp_path / "run", quiet=True, **{**TINY, "data.name": "mnist"})
    partition = json.loads((tmp_path / "run" / "partition.json").read_text())
    assert sum(partition["sizes"]) == 64 and np.isfinite(result["metrics"]["kid"])


def test_conv_networks_on_digits_give_a_kid(tmp_path: Path) -> None:
    result = run("fedavg-gan", preset="smoke", out=tmp_path, quiet=True, **TINY)
    assert result["metrics"]["kid"] is not None and np.isfinite(result["metrics"]["kid"])
    assert "kid_note" not in result["metrics"]
    names = parameter_names(load_checkpoint(tmp_path / "checkpoints" / "last.pt")["state"])
    assert any("decoder.body" in name for name in names)
