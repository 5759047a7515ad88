"""The ``ServerApp`` and ``ClientApp`` that run any registered algorithm, chosen by its id and config.

What to run travels as a :class:`FlowerRun`: bound to the apps directly in simulation, or read from
``context.run_config`` in a deployment (where ``flwr run`` ships it from the app's ``pyproject.toml``),
so one pair of apps serves every algorithm. The ServerApp runs a given :data:`ServerMain` (the run's
life on the server, which writes the run directory: :mod:`fedgen_registry.runs.flower`); this module
offers it the run's algorithm with relayed clients (:func:`relayed_algorithm`).

Routing: Flower 1.42 dispatches a message of type ``"<category>.<action>"`` only to a handler registered
for exactly that action (``@app.train("disc_step")``); there is no catch-all per category, and the
protocol does not declare its message types ahead of time. :class:`ProtocolClientApp` therefore registers
the protocol handler through Flower's own decorator the first time it meets an action, then lets
Flower route, validate the type and apply mods as for any hand-written handler.

A Flower 1.42 deployment starts a fresh ClientApp process for every message, so this module imports
torch only when a protocol message needs it: the hand-shake answers without it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flwr.app import ConfigRecord, Context, MessageType, RecordDict
from flwr.app import Message as FlowerMessage
from flwr.app.metadata import validate_message_type
from flwr.client.mod import secaggplus_mod
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp

from fedgen_registry.federation.errors import FederationError
from fedgen_registry.federation.flower.job import FlowerRun
from fedgen_registry.federation.flower.wire import ENGINE, PARTITION_ID, PARTITION_QUERY

CATEGORIES = (MessageType.TRAIN, MessageType.EVALUATE, MessageType.QUERY)
"""What a protocol message's type may start with; each names a ClientApp decorator."""

if TYPE_CHECKING:
    from fedgen_registry.federation.config import FederationConfig
    from fedgen_registry.federation.flower.relay import Relay, RelayedAlgorithm
    from fedgen_registry.federation.protocol import Algorithm


ServerMain = Callable[[Grid, FlowerRun], dict[str, Any]]
"""What the ServerApp runs for one :class:`FlowerRun` (the run's whole life on the server); returns its summary."""


def _relayed(target: type[Algorithm[Any]], relay: Relay, config: Any, run_dir: Path) -> RelayedAlgorithm:
    from fedgen_registry.federation.flower.relay import RelayedAlgorithm

    return RelayedAlgorithm(target(config, run_dir), relay)


def check_flower_support(algorithm_class: type[Algorithm[Any]], implementation: str) -> None:
    """Refuse, before any message is sent, an algorithm that declares why the flower engine cannot carry it."""
    if algorithm_class.flower_refusal:
        raise FederationError(f"{implementation} cannot run on the flower engine: {algorithm_class.flower_refusal}")


def relayed_algorithm(grid: Grid, run: FlowerRun) -> tuple[FederationConfig, type[Algorithm[Any]]]:
    """Connect the run's nodes; its config and an algorithm class whose clients stand for those nodes.

    The class is called ``(config, run_dir)`` like the registered one, so the local engine's round loop
    runs it unchanged while every client message goes to a Flower node.
    """
    from fedgen_registry.federation.flower.relay import Relay, connect

    spec = run.spec()
    check_flower_support(spec.target, spec.id)
    config = spec.config.model_validate_json(run.config)
    nodes = connect(grid, config.clients, run.connect_timeout_s)
    if run.secagg:
        from fedgen_registry.federation.flower.secagg import SecAggPlusSettings, SecureRelay, check_supported

        check_supported(spec.target, spec.id)
        settings = SecAggPlusSettings.model_validate_json(run.secagg)
        relay: Relay = SecureRelay(grid, nodes, config.seed, run.reply_timeout_s, settings)
    else:
        relay = Relay(grid, nodes, config.seed, run.reply_timeout_s)
    return config, partial(_relayed, spec.target, relay)  # type: ignore[return-value]  # only called (config, run_dir)


def make_server_app(main: ServerMain, run: FlowerRun | None = None, results: dict[str, Any] | None = None) -> ServerApp:
    """A ServerApp that runs ``main`` for ``run`` (or for the run described by ``context.run_config``).

    The summary goes to ``results``.
    """
    app = ServerApp()

    @app.main()
    def server_main(grid: Grid, context: Context) -> None:
        summary = main(grid, run or FlowerRun.from_run_config(context.run_config))
        if results is not None:
            results.update(summary)

    return app


class ProtocolClientApp(ClientApp):
    """A ClientApp that answers every protocol message type of the run's algorithm, plus the hand-shake."""

    def __init__(self, run: FlowerRun | None = None) -> None:
        super().__init__()
        self.run = run
        self.query(PARTITION_QUERY.split(".")[1])(_partition)
        self.train(mods=[secaggplus_mod])(self._secure_train)  # type "train" alone: only SecAgg+ sends it
        self._routes = {PARTITION_QUERY, MessageType.TRAIN}

    def __call__(self, message: FlowerMessage, context: Context) -> FlowerMessage:
        message_type = message.metadata.message_type
        category, _, action = message_type.partition(".")
        if message_type not in self._routes and validate_message_type(message_type) and category in CATEGORIES:
            register = getattr(self, category)  # Flower's own @app.train / @app.evaluate / @app.query
            (register(action) if action else register())(self._handle)
            self._routes.add(message_type)
        return super().__call__(message, context)

    def _handle(self, message: FlowerMessage, context: Context) -> FlowerMessage:
        from fedgen_registry.federation.flower.node import answer

        return answer(message, context, self.run or FlowerRun.from_run_config(context.run_config))

    def _secure_train(self, message: FlowerMessage, context: Context) -> FlowerMessage:
        from fedgen_registry.federation.flower.secagg import secure_train

        return secure_train(message, context, self.run or FlowerRun.from_run_config(context.run_config))


def _partition(message: FlowerMessage, context: Context) -> FlowerMessage:
    try:
        partition = int(context.node_config[PARTITION_ID])
    except KeyError:
        raise ValueError(
            "a fedgen Flower node needs a partition-id in its node config "
            "(flower-supernode --node-config 'partition-id=0 num-partitions=2')"
        ) from None
    return FlowerMessage(RecordDict({ENGINE: ConfigRecord({PARTITION_ID: partition})}), reply_to=message)
