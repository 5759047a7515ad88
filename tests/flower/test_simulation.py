"""``fedgen run ... --engine flower`` on Flower's simulation runtime (Ray): the run directory, and the same
parameters as the local engine, bit for bit (each node call is seeded as the local engine seeds it).

Slow (Ray start-up, one node process per CPU): one simulation per algorithm, each kept small.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from runtime.settings import FAST_EVAL

from fedgen_registry.cli import main
from fedgen_registry.federation.local import CHECKPOINT
from tests.flower.conftest import assert_same_state, checkpoint_state

pytestmark = pytest.mark.slow

FILES = ("config.json", "history.jsonl", "metrics.json", "samples.png", "partition.json", "partition.png")


def fedgen_run(implementation: str, run_dir: Path, engine: str, settings: dict[str, object], *extra: str) -> None:
    args = ["run", implementation, "--preset", "smoke", "--engine", engine, "-q", "--out", str(run_dir), *extra]
    for key, value in {**FAST_EVAL, **settings}.items():
        args += ["--set", f"{key}={value}"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("implementation", "settings"),
    [
        ("fedavg-gan", {"rounds": 2, "clients": 3, "local_steps": 2}),
        ("md-gan", {"rounds": 2, "clients": 3, "swap_every": 2}),
        ("fedgan", {"rounds": 2, "clients": 3}),  # Rasouli et al.: per-agent Adam state persists on the nodes
    ],
)
def test_a_simulated_run_equals_the_local_run(implementation, settings, tmp_path) -> None:
    fedgen_run(implementation, tmp_path / "flower", "flower", settings)
    fedgen_run(implementation, tmp_path / "local", "local", settings)
    for name in FILES:
        assert (tmp_path / "flower" / name).exists(), name
    manifest = json.loads((tmp_path / "flower" / "config.json").read_text())
    assert manifest["engine"] == "flower" and manifest["implementation"] == implementation
    flower, local = checkpoint_state(tmp_path / "flower"), checkpoint_state(tmp_path / "local")
    assert_same_state(local["server"], flower["server"])  # exact: same seeds, same kernels, one thread
    assert all(state == {} for state in flower["clients"].values())  # client state stayed on the nodes
    metrics = [json.loads((tmp_path / side / "metrics.json").read_text()) for side in ("flower", "local")]
    assert metrics[0] == metrics[1]


def mark_checkpoint_history(run_dir: Path) -> None:
    path = run_dir / CHECKPOINT
    payload = torch.load(path, weights_only=True)
    history = json.loads(payload["history"])
    history[0]["marked"] = True
    torch.save({**payload, "history": json.dumps(history)}, path)


def test_a_run_of_stateless_clients_resumes_on_flower_to_the_uninterrupted_result(tmp_path) -> None:
    """Two rounds on Flower, then --resume to three: the server state and metrics of three rounds in one go."""
    settings = {"clients": 3, "local_steps": 2}
    fedgen_run("fedavg-gan", tmp_path / "flower", "flower", {**settings, "rounds": 2})
    mark_checkpoint_history(tmp_path / "flower")  # a resume keeps it; a fresh start would not
    fedgen_run("fedavg-gan", tmp_path / "flower", "flower", {**settings, "rounds": 3}, "--resume")
    fedgen_run("fedavg-gan", tmp_path / "local", "local", {**settings, "rounds": 3})
    assert_same_state(checkpoint_state(tmp_path / "local")["server"], checkpoint_state(tmp_path / "flower")["server"])
    history = [json.loads(line) for line in (tmp_path / "flower" / "history.jsonl").read_text().splitlines()]
    assert [record["round"] for record in history] == [1, 2, 3] and history[0].get("marked")
    metrics = [json.loads((tmp_path / side / "metrics.json").read_text()) for side in ("flower", "local")]
    assert metrics[0] == metrics[1]


def test_resume_of_clients_with_state_is_refused_on_flower_in_one_line(tmp_path) -> None:
    args = ["run", "md-gan", "--preset", "smoke", "--engine", "flower", "--resume", "--out", str(tmp_path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error: --resume on Flower: md-gan's clients keep state between rounds")
    assert "(discriminator, optimizer)" in result.output and len(result.output.strip().splitlines()) == 1
    nothing = CliRunner().invoke(main, [*args[:1], "fedavg-gan", *args[2:]])
    assert nothing.exit_code == 1 and nothing.output.startswith("error: nothing to resume: no checkpoint at")
