"""A real Flower deployment on loopback: one SuperLink, two SuperNodes, ``flwr run`` of FedAvg-GAN and MD-GAN.

Every process listens on 127.0.0.1 only, starts in its own session and is stopped with its process group
(SuperExec children that live in sessions of their own are stopped by pid); ``FLWR_HOME`` is a temporary
folder holding the named connection; runtime dependency installation is off, so nothing is fetched.
Flower 1.42 starts a fresh ClientApp process for every message, so each stage costs a cold start of
torch: the runs are tiny. MD-GAN runs two rounds without swaps: equal parameters then show that each
worker's discriminator and Adam state persisted in its SuperNode's context between rounds (the swap
messages are covered by the simulation test). Both runs go to the SuperLink at once, so waits overlap.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from fedgen_registry.federation.flower.job import FlowerRun
from fedgen_registry.registry import get_implementation
from fedgen_registry.runs.flower_deployment import write_app, write_connection
from tests.flower.conftest import assert_same_state, checkpoint_state, smoke_config

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
CONNECTION = "fedgen-test"
RUN_TIMEOUT_S = 300
RUNS = {
    "fedavg-gan": {"rounds": 1, "clients": 2, "local_steps": 2},
    "md-gan": {"rounds": 2, "clients": 2, "swap_every": 0},
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each process group, then SIGKILL what is left, descendants in other sessions included."""
    descendants = []
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            descendants += psutil.Process(process.pid).children(recursive=True)
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
    _, alive = psutil.wait_procs(descendants, timeout=10)
    for child in alive:
        child.kill()


@pytest.fixture(scope="module")
def superlink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    """``(environment for flwr, folder)`` of a running SuperLink with SuperNodes of partition-id 0 and 1."""
    folder = tmp_path_factory.mktemp("flower-deployment")
    env = {
        **os.environ,
        "FLWR_HOME": str(folder / "flwr-home"),
        "FLWR_TELEMETRY_ENABLED": "0",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # the SuperLink starts flower-superexec by name
    }
    port = free_port()
    write_connection(folder / "flwr-home", CONNECTION, f"127.0.0.1:{port}")
    processes: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (folder / f"{name}.log").open("wb")
        command = [str(BIN / args[0]), *args[1:]]
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        processes.append(process)
        return process

    try:
        link = start(
            "superlink",
            "flower-superlink",
            "--insecure",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--disable-runtime-dependency-installation",
        )
        wait_for_port(port, link, timeout=60)
        for partition in range(2):
            start(
                f"supernode-{partition}",
                "flower-supernode",
                "--insecure",
                "--superlink",
                f"127.0.0.1:{port}",
                "--host",
                "127.0.0.1",
                "--port",
                str(free_port()),
                "--node-config",
                f"partition-id={partition} num-partitions=2",
            )
        yield env, folder
    finally:
        stop(processes)


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
        app = write_app(run, folder / f"app-{implementation}").parent
        command = [str(BIN / "flwr"), "run", str(app), CONNECTION, "--stream"]
        log = (folder / f"flwr-run-{implementation}.log").open("wb")
        launched[implementation] = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
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
