"""A Flower deployment on loopback for tests: one SuperLink and SuperNodes, each in its own session.

Every process listens on 127.0.0.1 only and is stopped with its process group (SuperExec children that live
in sessions of their own are stopped by pid); ``FLWR_HOME`` is a temporary folder holding the named connection;
runtime dependency installation is off, so nothing is fetched.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

from fedgen_registry.federation.flower.job import FlowerRun
from fedgen_registry.runs.flower_deployment import write_app, write_connection

BIN = Path(sys.executable).parent
CONNECTION = "fedgen-test"


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
            with contextlib.suppress(ProcessLookupError):  # a process that leads no group of its own
                os.killpg(process.pid, signal.SIGTERM)
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.kill()
            process.wait(timeout=5)
    _, alive = psutil.wait_procs(descendants, timeout=10)
    for child in alive:
        child.kill()


@dataclass
class Deployment:
    """A running loopback deployment: the environment for ``flwr``, the SuperNodes, and the SuperLink, which
    keeps its state in a database file so that, restarted, it still knows its SuperNodes."""

    env: dict[str, str]
    nodes: list[subprocess.Popen[bytes]]
    restart_superlink: Callable[[], None]
    kill_superlink: Callable[[], None]


@contextlib.contextmanager
def deployment(folder: Path, partitions: int = 2) -> Iterator[Deployment]:
    """A running SuperLink with SuperNodes of partition-id 0 .. partitions-1; everything is stopped on exit."""
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
        log = (folder / f"{name}.log").open("ab")
        command = [str(BIN / args[0]), *args[1:]]
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        processes.append(process)
        return process

    def start_superlink() -> subprocess.Popen[bytes]:
        link = start(
            "superlink",
            "flower-superlink",
            "--insecure",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--disable-runtime-dependency-installation",
            "--database",
            str(folder / "superlink.db"),
        )
        wait_for_port(port, link, timeout=60)
        return link

    links = [start_superlink()]

    def kill_superlink() -> None:
        """SIGKILL the SuperLink with its process group (its SuperExec and the ServerApps it started)."""
        os.killpg(links[-1].pid, signal.SIGKILL)
        links[-1].wait(timeout=10)

    try:
        nodes = [
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
                f"partition-id={partition} num-partitions={partitions}",
            )
            for partition in range(partitions)
        ]
        yield Deployment(env, nodes, lambda: links.append(start_superlink()), kill_superlink)
    finally:
        stop(processes)


def launch(run: FlowerRun, folder: Path, env: dict[str, str], name: str) -> subprocess.Popen[bytes]:
    """``flwr run`` of ``run`` on the deployment, its output in ``folder/flwr-run-<name>.log``."""
    app = write_app(run, folder / f"app-{name}").parent
    log = (folder / f"flwr-run-{name}.log").open("wb")
    command = [str(BIN / "flwr"), "run", str(app), CONNECTION, "--stream"]
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
