"""Running by id: the run directory's files, the engine choice, and a real kill -9 followed by --resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from fedgen_registry.cli import main
from fedgen_registry.runs.runner import RunError, run
from runtime.settings import FAST_EVAL

REPO = Path(__file__).resolve().parents[2]
KILL_SETTINGS = {"rounds": 10, **FAST_EVAL}


def test_a_run_directory_has_every_artefact(tmp_path: Path) -> None:
    args = ["run", "md-gan", "--preset", "smoke", "--set", "rounds=3", "--set", "eval.samples=64", "-q", "--out"]
    result = CliRunner().invoke(main, [*args, str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert f"run directory: {tmp_path}" in result.output
    names = ("config.json", "history.jsonl", "metrics.json", "privacy.json", "samples.png", "partition.png")
    for name in (*names, "partition.json"):
        assert (tmp_path / name).exists(), name
    assert json.loads((tmp_path / "privacy.json").read_text())["mechanism"] == "none"
    assert (tmp_path / "checkpoints" / "last.pt").exists()
    assert len((tmp_path / "history.jsonl").read_text().splitlines()) == 3
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["rounds"] == 3 and metrics["kid"] > 0 and metrics["classifier_test_accuracy"] > 0.9
    assert json.loads((tmp_path / "config.json").read_text())["implementation"] == "md-gan"


def test_resume_refuses_changed_settings_and_an_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(RunError, match="nothing to resume"):
        run("fedavg-gan", preset="smoke", out=tmp_path, resume=True, quiet=True)
    run("fedavg-gan", preset="smoke", out=tmp_path, quiet=True, rounds=1, local_steps=1, **FAST_EVAL)
    with pytest.raises(RunError, match=r"other settings \(local_steps\)"):
        run("fedavg-gan", preset="smoke", out=tmp_path, resume=True, quiet=True, rounds=2, local_steps=2, **FAST_EVAL)
    assert json.loads((tmp_path / "config.json").read_text())["config"]["local_steps"] == 1  # still the checkpoint's
    resumed = run(
        "fedavg-gan", preset="smoke", out=tmp_path, resume=True, quiet=True, rounds=2, local_steps=1, **FAST_EVAL
    )
    assert (
        resumed["metrics"]["rounds"] == 2
        and json.loads((tmp_path / "config.json").read_text())["config"]["rounds"] == 2
    )


def cli_args(out: Path, *extra: str) -> list[str]:
    settings = [arg for key, value in KILL_SETTINGS.items() for arg in ("--set", f"{key}={value}")]
    command = [sys.executable, *["-m", "fedgen_registry", "run", "fedavg-gan", "--preset", "smoke", "-q"]]
    return [*command, *settings, "--out", str(out), *extra]


def test_a_killed_run_resumes_to_the_same_final_metrics(tmp_path: Path) -> None:
    killed = tmp_path / "killed"
    history = killed / "history.jsonl"
    process = subprocess.Popen(cli_args(killed), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        if history.exists() and len(history.read_text().splitlines()) >= 3:
            break
        time.sleep(0.01)
    assert process.poll() is None, "the run ended before it could be killed: " + process.stderr.read().decode()
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL and not (killed / "metrics.json").exists()
    done = len(history.read_text().splitlines())
    assert 3 <= done < KILL_SETTINGS["rounds"]

    resumed = subprocess.run(cli_args(killed, "--resume"), cwd=REPO, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    reference = run("fedavg-gan", preset="smoke", out=tmp_path / "reference", quiet=True, **KILL_SETTINGS)

    assert json.loads((killed / "metrics.json").read_text()) == reference["metrics"]
    lines = [json.loads(line) for line in history.read_text().splitlines()]
    assert [line["round"] for line in lines] == list(range(1, KILL_SETTINGS["rounds"] + 1))


def test_the_runner_and_the_protocol_import_without_torch() -> None:
    """``fedgen run --dry-run`` and the catalogue must stay light; torch comes with an engine, not before."""
    code = "import sys, fedgen_registry.runs.runner, fedgen_registry.federation.protocol; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert result.stdout.strip() == "False"


def test_conditional_partial_participation_run(tmp_path: Path) -> None:
    settings = {"rounds": 2, "clients_per_round": 4, "model.conditional": True, **FAST_EVAL}
    summary = run("fedavg-gan", preset="smoke", out=tmp_path, quiet=True, **settings)
    history = [json.loads(line) for line in (tmp_path / "history.jsonl").read_text().splitlines()]
    assert [len(record["sampled"]) for record in history] == [4, 4] and history[0]["sampled"] != history[1]["sampled"]
    assert 0.0 <= summary["metrics"]["label_accuracy"] <= 1.0


def test_building_many_clients_shows_progress_and_few_do_not(tmp_path: Path) -> None:
    def stderr_of(clients: int) -> str:
        args = ["run", "fedavg-gan", "--preset", "smoke", "--out", str(tmp_path / str(clients))]
        for key, value in {**FAST_EVAL, "rounds": 1, "clients": clients, "local_steps": 1}.items():
            args += ["--set", f"{key}={value}"]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        return result.stderr

    assert "building client 250/250" in stderr_of(250)
    assert "building client" not in stderr_of(20)
