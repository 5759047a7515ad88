"""A real Flower deployment on loopback (:mod:`tests.flower.deployment`): one SuperLink, two SuperNodes,
``flwr run`` of FedAvg-GAN and MD-GAN.

Flower 1.42 starts a fresh ClientApp process for every message, so each stage costs a cold start of
torch: the runs are tiny. MD-GAN runs two rounds without swaps: equal parameters then show that each
worker's discriminator and Adam state persisted in its SuperNode's context between rounds (the swap
messages are covered by the simulation test). Both runs go to the SuperLink at once, so waits overlap.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime.settings import FAST_EVAL

from fedgen_registry.federation.flower.job import FlowerRun
from fedgen_registry.registry import get_implementation
from tests.flower.conftest import assert_same_state, checkpoint_state, smoke_config
from tests.flower.deployment import BIN, CONNECTION, deployment, launch, stop

pytestmark = pytest.mark.slow

RUN_TIMEOUT_S = 300
RUNS = {
    "fedavg-gan": {"rounds": 1, "clients": 2, "local_steps": 2},
    "md-gan": {"rounds": 2, "clients": 2, "swap_every": 0},
}


@pytest.fixture(scope="module")
def superlink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    """``(environment for flwr, folder)`` of a running SuperLink with SuperNodes of partition-id 0 and 1."""
    folder = tmp_path_factory.mktemp("flower-deployment")
    with deployment(folder) as running:
        yield running.env, folder


def test_flwr_run_on_a_superlink_equals_the_local_engine(superlink, make_engine) -> None:
    env, folder = superlink
    launched = {}
    for implementation, settings in RUNS.items():
        run = FlowerRun.create(
            get_implementation(implementation),
            smoke_config(implementation, **settings),
            str(folder / f"run-{implementation}"),
            connect_timeout_s=120,
            reply_timeout_s=RUN_TIMEOUT_S,
        )
        launched[implementation] = launch(run, folder, env, implementation)
    try:
        for process in launched.values():
            process.wait(timeout=RUN_TIMEOUT_S)
    finally:
        stop([p for p in launched.values() if p.poll() is None])
    for implementation, settings in RUNS.items():
        run_dir = folder / f"run-{implementation}"
        logs = (folder / f"flwr-run-{implementation}.log").read_text(errors="replace")
        assert (run_dir / "metrics.json").exists(), f"{implementation} left no metrics; flwr run said:\n{logs[-3000:]}"
        assert (run_dir / "samples.png").exists() and (run_dir / "history.jsonl").exists()
        local = make_engine(implementation, **settings)
        local.run()
        assert_same_state(local.server.state_dict(), checkpoint_state(run_dir)["server"])
        history = json.loads((run_dir / "history.jsonl").read_text().splitlines()[-1])
        assert history["completed"] == [0, 1] and history["metrics"] == local.history[-1]["metrics"]


def test_fedgen_run_with_a_federation_submits_and_streams_the_run(superlink) -> None:
    """One command instead of the app writer plus ``flwr run``; its summary is the run's metrics.json."""
    env, folder = superlink
    run_dir = folder / "run-cli"
    settings = {"rounds": 1, "clients": 2, "local_steps": 1, **FAST_EVAL}
    command = [str(BIN / "fedgen"), "run", "fedavg-gan", "--preset", "smoke", "--engine", "flower"]
    command += ["--federation", CONNECTION, "--out", str(run_dir)]
    command += [f"--set={key}={value}" for key, value in settings.items()]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert f"submitting fedavg-gan to {CONNECTION}" in done.stderr
    assert (run_dir / "flower-app" / "pyproject.toml").exists()
    summary = json.loads(done.stdout[: done.stdout.rindex("}") + 1])  # flwr's own output went to stderr
    assert summary == {**json.loads((run_dir / "metrics.json").read_text()), **summary}
    assert json.loads((run_dir / "config.json").read_text())["federation"] == CONNECTION
    refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)  # the same run again
    assert refused.returncode != 0 and "add --resume" in refused.stderr and len(refused.stderr.splitlines()) == 1
