"""Run an algorithm on Flower's simulation runtime (Ray backend), one machine, one node per client.

The simulation registers its nodes in order and gives node ``i`` the ``partition-id`` ``i``, which the
``ClientApp`` reads as the protocol's client id (a deployment sets it with ``--node-config``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flwr.simulation import run_simulation
from pydantic import BaseModel

from fedgen_registry.federation.config import FederationConfig
from fedgen_registry.federation.errors import FederationError
from fedgen_registry.federation.flower.apps import ProtocolClientApp, make_server_app
from fedgen_registry.federation.flower.job import FlowerRun
from fedgen_registry.federation.flower.secagg import SecAggPlusSettings
from fedgen_registry.registry import ImplementationSpec

CPUS_PER_CLIENT = 1


@contextmanager
def _flower_log(quiet: bool) -> Iterator[None]:
    """Flower logs each round at INFO; a quiet run keeps its warnings and errors only."""
    logger = logging.getLogger("flwr")
    previous = logger.level
    if quiet:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(previous)


def run_flower(
    spec: ImplementationSpec,
    config: BaseModel,
    run_dir: Path,
    *,
    resume: bool,
    quiet: bool,
    manifest: dict[str, Any] | None = None,
    secagg: SecAggPlusSettings | None = None,
) -> dict[str, Any]:
    """Simulate the run with Flower; write the same run directory as the local engine; return its summary.

    ``wall_time_s`` includes Flower's and Ray's start-up and shut-down. ``secagg``: aggregate through
    Flower's SecAgg+ (parameter-averaging algorithms only; see :mod:`.secagg`).
    """
    if not isinstance(config, FederationConfig):
        raise FederationError(f"{spec.id} has no federated config; the flower engine runs algorithms only")
    if resume:
        raise FederationError(
            "--resume needs the local engine: on Flower, each client's private state lives on its node "
            "and ends with the simulation, so a checkpoint alone cannot restore it"
        )
    started = time.perf_counter()
    run_dir.mkdir(parents=True, exist_ok=True)
    run = FlowerRun.create(
        spec,
        config,
        str(run_dir.resolve()),
        manifest=json.dumps({**(manifest or {}), "engine": "flower"}),
        quiet=quiet,
        secagg=secagg.model_dump_json() if secagg else "",
    )
    results: dict[str, Any] = {}
    with _flower_log(quiet):
        run_simulation(
            make_server_app(run, results),
            ProtocolClientApp(run),
            num_supernodes=config.clients,
            backend_config={"client_resources": {"num_cpus": CPUS_PER_CLIENT}},
        )
    if "metrics" not in results:
        raise FederationError("the Flower simulation ended without a result; see Flower's log above")
    return {**results, "wall_time_s": round(time.perf_counter() - started, 3)}
