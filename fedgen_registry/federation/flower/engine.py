"""Run a ServerApp's main on Flower's simulation runtime (Ray backend), one machine, one node per client.

The simulation registers its nodes in order and gives node ``i`` the ``partition-id`` ``i``, which the
``ClientApp`` reads as the protocol's client id (a deployment sets it with ``--node-config``). What the
run writes is decided by the ``main`` it is given (:mod:`fedgen_registry.runs.flower`); this module
only starts the runtime and hands back the summary.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flwr.simulation import run_simulation

from fedgen_registry.federation.errors import FederationError
from fedgen_registry.federation.flower.apps import ProtocolClientApp, ServerMain, make_server_app
from fedgen_registry.federation.flower.job import FlowerRun

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


def simulate(run: FlowerRun, main: ServerMain, clients: int, *, quiet: bool) -> dict[str, Any]:
    """Simulate ``run`` with ``clients`` nodes, the ServerApp running ``main``; return the summary ``main`` gave."""
    results: dict[str, Any] = {}
    with _flower_log(quiet):
        run_simulation(
            make_server_app(main, run, results),
            ProtocolClientApp(run),
            num_supernodes=clients,
            backend_config={"client_resources": {"num_cpus": CPUS_PER_CLIENT}},
        )
    if "metrics" not in results:
        raise FederationError("the Flower simulation ended without a result; see Flower's log above")
    return results
