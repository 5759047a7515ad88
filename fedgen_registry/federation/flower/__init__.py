"""The ``flower`` engine: the same :class:`~fedgen_registry.federation.protocol.Algorithm` objects on Flower 1.42.

- :mod:`.codec` turns protocol messages and client states into Flower records (and back, bit-exact);
- :mod:`.node` is the client side: it rebuilds a client on its Flower node from ``context.state``;
- :mod:`.relay` is the server side: it stands in for the clients inside the engine's round loop and
  delivers each stage's messages to the nodes with one ``grid.send_and_receive``;
- :mod:`.apps` builds the ``ServerApp`` (around a main the caller gives) and the ``ClientApp``;
  :mod:`.engine` runs them on Flower's simulation runtime.

What a run writes (manifest, metrics, ledger) and the deployment's app folder are run concerns:
:mod:`fedgen_registry.runs.flower` and :mod:`fedgen_registry.runs.flower_deployment`.

Flower sends anonymous usage telemetry unless ``FLWR_TELEMETRY_ENABLED=0`` is set before it is imported;
this package sets that default, so nothing leaves the machine (a caller's explicit setting wins).
"""

from __future__ import annotations

import os

os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
