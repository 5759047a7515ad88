"""Faults of a real deployment's run. A SuperNode killed with SIGKILL mid-run: the run finishes under the
quorum rule, the lost node's rounds are recorded as failures in ``history.jsonl``, and nothing written is
lost. A SuperNode that answers late (frozen with SIGSTOP past the reply timeout, then let go): its round is
a recorded failure, and its late answer is not taken for the next round's, in which it takes part again.

Its own loopback deployment (:mod:`tests.flower.deployment`), so killing a node cannot disturb other tests.
The reply timeout is what a lost node costs each round it is sampled: long enough for a ClientApp's cold start
on a loaded 2-core machine, short enough for the suite.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from fedgen_registry.federation.flower.job import FlowerRun
from fedgen_registry.registry import get_implementation
from tests.flower.conftest import smoke_config
from tests.flower.deployment import deployment, launch, stop

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


def run_with_a_fault(
    tmp_path: Path, fault: Callable[[list[subprocess.Popen[bytes]], Callable[[int], None]], None]
) -> str:
    """Run FedAvg-GAN on a two-node deployment; once round 1 is written, ``fault(nodes, wait_for_rounds)``."""
    run_dir, log = tmp_path / "run", tmp_path / "flwr-run-fedavg-gan.log"
    with deployment(tmp_path) as (env, nodes):
        run = FlowerRun.create(
            get_implementation("fedavg-gan"),
            smoke_config("fedavg-gan", **SETTINGS),
            str(run_dir),
            connect_timeout_s=120,
            reply_timeout_s=REPLY_TIMEOUT_S,
        )
        flwr = launch(run, tmp_path, env, "fedavg-gan")
        try:
            wait_for_rounds(run_dir, 1, flwr, log)
            fault(nodes, lambda rounds: wait_for_rounds(run_dir, rounds, flwr, log))
            flwr.wait(timeout=RUN_TIMEOUT_S)
        finally:
            stop([flwr] if flwr.poll() is None else [])
    return log.read_text(errors="replace")


def test_a_supernode_killed_mid_run_is_a_recorded_failure_and_the_run_finishes(tmp_path: Path) -> None:
    def kill(nodes: list[subprocess.Popen[bytes]], wait: Callable[[int], None]) -> None:
        os.killpg(nodes[1].pid, signal.SIGKILL)  # partition 1's SuperNode and the ClientApps it started

    log = run_with_a_fault(tmp_path, kill)
    run_dir = tmp_path / "run"
    records = history(run_dir)
    assert (run_dir / "metrics.json").exists(), log[-3000:]
    assert [r["round"] for r in records] == [1, 2, 3] and records[0]["completed"] == [0, 1]
    for record in records[1:]:
        assert record["completed"] == [0], record
        assert [f["client"] for f in record["failures"]] == [1], record
    assert json.loads((run_dir / "metrics.json").read_text())["rounds"] == 3


def test_a_supernode_that_answers_late_fails_its_round_and_takes_part_in_the_next(tmp_path: Path) -> None:
    """The node's ClientApp processes are frozen (SIGSTOP) past round 2's reply timeout while the SuperNode
    itself keeps its heartbeat, so the SuperLink still counts it as connected: an answer that is only late."""
    frozen: list[psutil.Process] = []

    def freeze_through_round_2(nodes: list[subprocess.Popen[bytes]], wait: Callable[[int], None]) -> None:
        frozen.extend(psutil.Process(nodes[1].pid).children(recursive=True))
        for process in frozen:
            process.send_signal(signal.SIGSTOP)
        try:
            wait(2)
        finally:
            for process in frozen:
                process.send_signal(signal.SIGCONT)  # round 2's answer now comes late; round 3's in time

    log = run_with_a_fault(tmp_path, freeze_through_round_2)
    records = history(tmp_path / "run")
    assert frozen, "partition 1's SuperNode had no ClientApp process to freeze"
    assert [r["round"] for r in records] == [1, 2, 3], log[-3000:]
    assert records[0]["completed"] == [0, 1]
    assert records[1]["completed"] == [0] and [f["client"] for f in records[1]["failures"]] == [1], records[1]
    assert "no reply within" in records[1]["failures"][0]["reason"], records[1]
    assert records[2]["completed"] == [0, 1] and not records[2]["failures"], records[2]
