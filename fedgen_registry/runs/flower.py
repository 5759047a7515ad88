"""A run on the flower engine: what the ServerApp does with a run, the simulation, and the deployment's apps.

The ServerApp's main (:func:`serve`) is a run, not a round loop: it connects the nodes, runs the
algorithm with relayed clients through :func:`~fedgen_registry.runs.execute.run_algorithm`, and so
writes the same run directory as the local engine (manifest, history, checkpoints, metrics, ledger).
:data:`server_app` and :data:`client_app` are what a deployment's ``pyproject.toml`` names
(:mod:`.flower_deployment`).

A Flower 1.42 deployment starts a fresh ClientApp process for every message: this module imports only
Flower and the light parts of the engine at the top, so the hand-shake answers without torch.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flwr.serverapp import Grid
from pydantic import BaseModel

from fedgen_registry.federation.config import FederationConfig
from fedgen_registry.federation.errors import FederationError
from fedgen_registry.federation.flower.apps import (
    ProtocolClientApp,
    check_flower_support,
    make_server_app,
    relayed_algorithm,
)
from fedgen_registry.federation.flower.job import FlowerRun
from fedgen_registry.registry import ImplementationSpec

if TYPE_CHECKING:
    from fedgen_registry.federation.flower.secagg import SecAggPlusSettings  # imports torch


def serve(grid: Grid, run: FlowerRun) -> dict[str, Any]:
    """The ServerApp's work: connect the nodes, then the engine's loop with relayed clients; the summary."""
    from fedgen_registry.runs.execute import run_algorithm

    config, algorithm = relayed_algorithm(grid, run)
    return run_algorithm(
        algorithm, config, Path(run.run_dir), resume=run.resume, quiet=run.quiet, manifest=json.loads(run.manifest)
    )


def check_resumable(spec: ImplementationSpec, config: BaseModel, run_dir: Path) -> None:
    """Refuse, before Ray starts, a resume the Flower engine cannot do faithfully.

    The checkpoint holds the server's state; each client's state lives on its node and ends with the
    simulation (the ServerApp's stand-ins keep none). Resuming is exact when the algorithm's clients keep
    nothing between rounds (a fresh client's ``state_dict()`` is empty, as FedAvg's are); otherwise refused.
    """
    import tempfile

    from fedgen_registry.federation.local import CHECKPOINT

    with tempfile.TemporaryDirectory() as scratch:
        kept = sorted(spec.target(config, Path(scratch)).make_client(0).state_dict())
    if kept:
        raise FederationError(
            f"--resume on Flower: {spec.id}'s clients keep state between rounds ({', '.join(kept)}) on their nodes, "
            "and it ended with them; resume a local run with --engine local, or start afresh"
        )
    if not (run_dir / CHECKPOINT).exists():
        raise FederationError(f"nothing to resume: no checkpoint at {run_dir / CHECKPOINT}")


def check_flower_config(spec: ImplementationSpec, config: BaseModel) -> None:
    """Refuse, before anything starts, a run the flower engine cannot carry (simulated or deployed)."""
    if not isinstance(config, FederationConfig):
        raise FederationError(f"{spec.id} has no federated config; the flower engine runs algorithms only")
    check_flower_support(spec.target, spec.id)
    if config.vectorise_clients:
        raise FederationError(
            "vectorise_clients=true trains the local engine's in-process clients together; on the flower engine "
            "each client is its own node, so leave it false (or use --engine local)"
        )


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
    Flower's SecAgg+ (parameter-averaging algorithms only; see :mod:`fedgen_registry.federation.flower.secagg`).
    """
    check_flower_config(spec, config)  # before Ray starts, not after
    if resume:
        check_resumable(spec, config, run_dir)
    from fedgen_registry.federation.flower.engine import simulate

    started = time.perf_counter()
    run_dir.mkdir(parents=True, exist_ok=True)
    run = FlowerRun.create(
        spec,
        config,
        str(run_dir.resolve()),
        manifest=json.dumps({**(manifest or {}), "engine": "flower"}),
        quiet=quiet,
        resume=resume,
        secagg=secagg.model_dump_json() if secagg else "",
    )
    summary = simulate(run, serve, config.clients, quiet=quiet)
    return {**summary, "wall_time_s": round(time.perf_counter() - started, 3)}


server_app = make_server_app(serve)
"""For a deployment: ``serverapp = "fedgen_registry.runs.flower:server_app"``."""

client_app = ProtocolClientApp()
"""For a deployment: ``clientapp = "fedgen_registry.runs.flower:client_app"``."""
