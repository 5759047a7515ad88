"""A SuperNode killed with SIGKILL in the middle of a real deployment's run: the run finishes under the quorum
rule, the lost node's rounds are recorded as failures in ``history.jsonl``, and nothing written is lost.

Its own loopback deployment (:mod:`tests.flower.deployment`), so killing a node cannot disturb other tests.
The reply timeout is what a lost node costs each round it is sampled: long enough for a ClientApp's cold start
on a loaded 2-core machine, short enough for the suite.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

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


def test_a_supernode_killed_mid_run_is_a_recorded_failure_and_the_run_finishes(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
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
            deadline = time.monotonic() + RUN_TIMEOUT_S
            while not history(run_dir) and flwr.poll() is None and time.monotonic() < deadline:
                time.sleep(0.5)
            assert len(history(run_dir)) == 1, (tmp_path / "flwr-run-fedavg-gan.log").read_text(errors="replace")[
                -3000:
            ]
            os.killpg(nodes[1].pid, signal.SIGKILL)  # partition 1's SuperNode and the ClientApps it started
            flwr.wait(timeout=RUN_TIMEOUT_S)
        finally:
            stop([flwr] if flwr.poll() is None else [])
    log = (tmp_path / "flwr-run-fedavg-gan.log").read_text(errors="replace")
    records = history(run_dir)
    assert (run_dir / "metrics.json").exists(), log[-3000:]
    assert [r["round"] for r in records] == [1, 2, 3] and records[0]["completed"] == [0, 1]
    for record in records[1:]:
        assert record["completed"] == [0], record
        assert [f["client"] for f in record["failures"]] == [1], record
    assert json.loads((run_dir / "metrics.json").read_text())["rounds"] == 3
