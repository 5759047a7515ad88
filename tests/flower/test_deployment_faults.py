"""Faults of a real deployment's run. A SuperNode killed with SIGKILL mid-run: the run finishes under the
quorum rule, the lost node's rounds are recorded as failures in ``history.jsonl``, and nothing written is
lost. A SuperNode that answers late (frozen with SIGSTOP past the reply timeout, then let go): its round is
a recorded failure, and its late answer is not taken for the next round's, in which it takes part again.

Its own loopback deployment (:mod:`tests.flower.deployment`), so killing a node cannot disturb other tests.
The reply timeout is what a lost node costs each round it is sampled: long enough for a ClientApp's cold start
on a loaded 2-core machine, short enough for the suite.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from runtime.settings import FAST_EVAL

import fedgen_registry
from fedgen_registry.federation.flower.job import FlowerRun
from fedgen_registry.registry import get_implementation
from tests.flower.conftest import smoke_config
from tests.flower.deployment import BIN, CONNECTION, Deployment, deployment, launch, stop

pytestmark = pytest.mark.slow

SETTINGS = {"rounds": 3, "clients": 2, "local_steps": 1, "quorum": 0.5, "eval.samples": 64}
REPLY_TIMEOUT_S = 60.0
RUN_TIMEOUT_S = 600


def history(run_dir: Path) -> list[dict]:
    path = run_dir / "history.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def wait_for_rounds(run_dir: Path, rounds: int, flwr: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while len(history(run_dir)) < rounds and flwr.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(history(run_dir)) == rounds, log.read_text(errors="replace")[-3000:]


Fault = Callable[[Deployment, Callable[[int], None]], None]


def run_with_a_fault(tmp_path: Path, fault: Fault) -> str:
    """Run FedAvg-GAN on a two-node deployment; once round 1 is written, ``fault(deployment, wait_for_rounds)``."""
    run_dir, log = tmp_path / "run", tmp_path / "flwr-run-fedavg-gan.log"
    with deployment(tmp_path) as running:
        run = FlowerRun.create(
            get_implementation("fedavg-gan"),
            smoke_config("fedavg-gan", **SETTINGS),
            str(run_dir),
            connect_timeout_s=120,
            reply_timeout_s=REPLY_TIMEOUT_S,
        )
        flwr = launch(run, tmp_path, running.env, "fedavg-gan")
        try:
            wait_for_rounds(run_dir, 1, flwr, log)
            fault(running, lambda rounds: wait_for_rounds(run_dir, rounds, flwr, log))
            flwr.wait(timeout=RUN_TIMEOUT_S)
        finally:
            stop([flwr] if flwr.poll() is None else [])
    return log.read_text(errors="replace")


def test_a_supernode_killed_mid_run_is_a_recorded_failure_and_the_run_finishes(tmp_path: Path) -> None:
    def kill(running: Deployment, wait: Callable[[int], None]) -> None:
        os.killpg(running.nodes[1].pid, signal.SIGKILL)  # partition 1's SuperNode and the ClientApps it started

    log = run_with_a_fault(tmp_path, kill)
    run_dir = tmp_path / "run"
    records = history(run_dir)
    assert (run_dir / "metrics.json").exists(), log[-3000:]
    assert [r["round"] for r in records] == [1, 2, 3] and records[0]["completed"] == [0, 1]
    for record in records[1:]:
        assert record["completed"] == [0], record
        assert [f["client"] for f in record["failures"]] == [1], record
    assert json.loads((run_dir / "metrics.json").read_text())["rounds"] == 3


def signal_all(processes: list[psutil.Process], signum: int) -> None:
    """Signal each process still there (a ClientApp may be exiting as it is found)."""
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signum)


def test_a_supernode_that_answers_late_fails_its_round_and_takes_part_in_the_next(tmp_path: Path) -> None:
    """The node's ClientApp processes are frozen (SIGSTOP) past round 2's reply timeout while the SuperNode
    itself keeps its heartbeat, so the SuperLink still counts it as connected: an answer that is only late."""
    frozen: list[psutil.Process] = []

    def freeze_through_round_2(running: Deployment, wait: Callable[[int], None]) -> None:
        frozen.extend(psutil.Process(running.nodes[1].pid).children(recursive=True))  # its SuperExec, ClientApps
        signal_all(frozen, signal.SIGSTOP)
        try:
            wait(2)
        finally:
            signal_all(frozen, signal.SIGCONT)  # round 2's answer now comes late; round 3's in time

    log = run_with_a_fault(tmp_path, freeze_through_round_2)
    records = history(tmp_path / "run")
    assert frozen, "partition 1's SuperNode had no ClientApp process to freeze"
    assert [r["round"] for r in records] == [1, 2, 3], log[-3000:]
    assert records[0]["completed"] == [0, 1]
    assert records[1]["completed"] == [0] and [f["client"] for f in records[1]["failures"]] == [1], records[1]
    assert "no reply within" in records[1]["failures"][0]["reason"], records[1]
    assert records[2]["completed"] == [0, 1] and not records[2]["failures"], records[2]


def test_a_superlink_restarted_mid_run_is_resumed_from_the_last_checkpoint(tmp_path: Path) -> None:
    """The SuperLink dies after round 1: ``flwr run`` says the SuperLink is unavailable and round 1 stays on disk.
    Writing the app again is refused unless it resumes; resumed on the restarted SuperLink, the run finishes."""
    from fedgen_registry.runs.flower_deployment import main as write_app_command

    run_dir, app = tmp_path / "run", tmp_path / "app-resumed"
    command = ["fedavg-gan", "--preset", "smoke", "--out", str(run_dir), "--app", str(app)]
    command += [f"--set={key}={value}" for key, value in {**FAST_EVAL, **SETTINGS}.items()]  # smoke_config's
    lost: list[dict] = []
    said: list[str] = []

    def kill_and_restart(running: Deployment, wait: Callable[[int], None]) -> None:
        running.kill_superlink()
        lost.extend(history(run_dir))
        running.restart_superlink()
        with pytest.raises(SystemExit):
            write_app_command(command)  # a fresh app over the checkpointed run: refused
        write_app_command([*command, "--resume"])
        resumed = subprocess.run(
            [str(BIN / "flwr"), "run", str(app), CONNECTION, "--stream"],
            env=running.env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
        )
        said.append(resumed.stdout + resumed.stderr)  # flwr run exits 0 even when the ServerApp raised

    log = run_with_a_fault(tmp_path, kill_and_restart)
    assert "SuperLink is unavailable" in " ".join(log.split()), log[-3000:]
    records = history(run_dir)
    assert [r["round"] for r in lost] == [1]
    assert [r["round"] for r in records] == [1, 2, 3], said[0][-3000:]
    assert records[0] == lost[0]  # round 1 kept as it was
    assert all(r["completed"] == [0, 1] for r in records), records
    assert json.loads((run_dir / "metrics.json").read_text())["rounds"] == 3


def test_writing_a_fresh_app_over_a_checkpointed_run_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fedgen_registry.runs.flower_deployment import main as write_app_command

    run_dir = tmp_path / "run"
    fedgen_registry.run("fedavg-gan", preset="smoke", out=run_dir, quiet=True, rounds=1, **{"eval.samples": 64})
    command = ["fedavg-gan", "--preset", "smoke", "--set", "rounds=2", "--out", str(run_dir), "--app", str(tmp_path)]
    with pytest.raises(SystemExit):
        write_app_command(command)
    error = capsys.readouterr().err.strip()
    assert "already holds round 1" in error and "--resume" in error and len(error.splitlines()) == 1, error
    write_app_command([*command, "--resume"])
    assert "goes on from round 1" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        write_app_command(["md-gan", "--preset", "smoke", "--out", str(run_dir), "--app", str(tmp_path), "--resume"])
    assert "keep state between rounds" in capsys.readouterr().err
