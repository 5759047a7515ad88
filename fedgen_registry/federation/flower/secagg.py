"""Flower's own SecAgg+ on the flower engine, for algorithms whose aggregate is a weighted parameter mean.

Flower 1.42 ships SecAgg+ as a server workflow (``flwr.server.workflow.SecAggPlusWorkflow``) and a client
mod (``flwr.client.mod.secaggplus_mod``). Both speak the legacy shapes: the workflow requires a
``LegacyContext`` and asks its ``Strategy`` for ``configure_fit`` / ``aggregate_fit``; the mod acts only on
messages of type exactly ``"train"`` and reads the reply as a ``FitRes`` record
(``fitres.parameters``, ``fitres.num_examples``, ``fitres.metrics``). This module adapts the engine to
those shapes instead of re-implementing the protocol:

- server: :class:`SecureRelay` runs the stage through ``SecAggPlusWorkflow`` with a ``LegacyContext``
  whose strategy (:class:`_Instructions`) hands out the protocol messages as ``FitIns`` and keeps what
  ``aggregate_fit`` receives: each survivor's ``FitRes`` with the unmasked weighted mean in place of its
  parameters. The server never holds one node's update; the ServerApp receives masked vectors only.
- node: :func:`secure_train` is the ``"train"`` handler behind ``secaggplus_mod``; it unpacks the
  ``FitIns``, answers with the node's ordinary protocol handler, and returns a ``FitRes``, which the mod
  weights by ``num_examples``, quantises, masks and sends instead.

Each survivor's stand-in reply then carries the secure aggregate and its own ``num_examples``, so an
algorithm whose aggregate is the ``num_examples``-weighted mean returns it unchanged. That holds only for
such algorithms, hence :func:`check_supported` reads the algorithm's ``weighted_mean_upload``. What stays in the clear, as in Flower: each
node's scalars (``num_examples`` and its losses) and, quantised, the weighting.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import torch
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, RecordDict
from flwr.app import Message as FlowerMessage
from flwr.common import (
    Code,
    FitIns,
    FitRes,
    Parameters,
    Scalar,
    Status,
    ndarrays_to_parameters,
    parameters_to_ndarrays,
)
from flwr.compat.common import recorddict_compat as compat
from flwr.server.client_manager import ClientManager
from flwr.server.client_proxy import ClientProxy
from flwr.server.compat.grid_client_proxy import GridClientProxy
from flwr.server.compat.legacy_context import LegacyContext
from flwr.server.strategy import FedAvg
from flwr.server.workflow import SecAggPlusWorkflow
from flwr.server.workflow.constant import MAIN_CONFIGS_RECORD, MAIN_PARAMS_RECORD
from flwr.server.workflow.constant import Key as WorkflowKey
from flwr.serverapp import Grid
from pydantic import BaseModel, ConfigDict, Field

from fedgen_registry.federation.errors import FederationError
from fedgen_registry.federation.flower.job import FlowerRun
from fedgen_registry.federation.flower.node import answer
from fedgen_registry.federation.flower.relay import NodeError, Relay
from fedgen_registry.federation.flower.wire import ARRAYS, CONFIG, ENGINE
from fedgen_registry.federation.protocol import Algorithm, Message

MESSAGE_TYPE, NAMES, MESSAGE_CONFIG = "fedgen.message_type", "fedgen.names", "fedgen.config"
"""The protocol message's type, array names and scalars, as ``FitIns`` / ``FitRes`` config entries."""


class SecAggPlusSettings(BaseModel):
    """``SecAggPlusWorkflow``'s parameters (Flower's defaults, except ``reconstruction_threshold``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    num_shares: int | float = Field(1.0, description="Shares per secret: a count, or a fraction of the sampled nodes.")
    reconstruction_threshold: int | float = Field(
        0.5, description="Shares needed to reconstruct a secret (count or fraction of num_shares); drop-out tolerance."
    )
    max_weight: float = Field(
        1000.0, gt=0, description="Upper bound of num_examples: each update is scaled by num_examples / max_weight."
    )
    clipping_range: float = Field(8.0, gt=0, description="Parameters are clipped to [-c, c] before quantisation.")
    quantization_range: int = Field(4194304, gt=0, description="Quantisation levels across [-c, c] (2^22).")
    modulus_range: int = Field(4294967296, gt=0, description="The ring the masks live on (2^32).")

    def workflow(self, timeout: float) -> SecAggPlusWorkflow:
        return SecAggPlusWorkflow(
            self.num_shares,
            self.reconstruction_threshold,
            max_weight=self.max_weight,
            clipping_range=self.clipping_range,
            quantization_range=self.quantization_range,
            modulus_range=self.modulus_range,
            timeout=timeout,
        )


def check_supported(algorithm_class: type[Algorithm[Any]], implementation: str) -> None:
    """Refuse SecAgg+ for an algorithm whose server needs more than the uploads' weighted mean."""
    if not algorithm_class.weighted_mean_upload:
        raise FederationError(
            "secure aggregation on the flower engine needs an algorithm whose server uses the uploads only "
            f"through their num_examples-weighted mean (Algorithm.weighted_mean_upload); {implementation} does not"
        )


# --- server side --------------------------------------------------------------------------------------------


class _Instructions(FedAvg):
    """The ``Strategy`` the workflow asks: the round's ``FitIns`` per node out, the unmasked ``FitRes`` in."""

    def __init__(self, instructions: Mapping[int, FitIns], grid: Grid) -> None:
        super().__init__()
        self.instructions, self.grid = instructions, grid
        self.results: list[tuple[ClientProxy, FitRes]] = []

    def configure_fit(
        self, server_round: int, parameters: Parameters, client_manager: ClientManager
    ) -> list[tuple[ClientProxy, FitIns]]:
        return [(GridClientProxy(node, self.grid, 0), fitins) for node, fitins in self.instructions.items()]

    def aggregate_fit(
        self, server_round: int, results: list[tuple[ClientProxy, FitRes]], failures: list[Any]
    ) -> tuple[Parameters | None, dict[str, Scalar]]:
        self.results = results
        return (results[0][1].parameters if results else None), {}


class SecureRelay(Relay):
    """A relay whose stage replies reach the server through SecAgg+: the aggregate, never one node's update."""

    def __init__(
        self, grid: Grid, nodes: Mapping[int, int], seed: int, timeout: float, settings: SecAggPlusSettings
    ) -> None:
        super().__init__(grid, nodes, seed, timeout)
        self.settings = settings

    def exchange(self, stage: str, server_round: int, attempt: int, messages: Mapping[int, Message]) -> None:
        instructions = {}
        for cid, message in messages.items():
            config: dict[str, Scalar] = {
                MESSAGE_TYPE: message.message_type,
                NAMES: json.dumps(list(message.arrays)),
                MESSAGE_CONFIG: json.dumps(dict(message.config)),
                ENGINE: json.dumps(self.engine_config(stage, server_round, attempt, cid)),
            }
            arrays = [tensor.detach().cpu().numpy() for tensor in message.arrays.values()]
            instructions[self.nodes[cid]] = FitIns(ndarrays_to_parameters(arrays), config)
        strategy = _Instructions(instructions, self.grid)
        state = RecordDict(
            {
                MAIN_CONFIGS_RECORD: ConfigRecord({WorkflowKey.CURRENT_ROUND: server_round}),
                MAIN_PARAMS_RECORD: ArrayRecord(),
            }
        )
        self._inbox = {cid: NodeError("left secure aggregation before the masks were removed") for cid in messages}
        if len(instructions) > 1:  # SecAgg+ needs two nodes at least; the workflow halts otherwise
            self.settings.workflow(self.timeout)(
                self.grid, LegacyContext(Context(0, 0, {}, state, {}), strategy=strategy)
            )
        client_of = {node: cid for cid, node in self.nodes.items()}
        for proxy, fitres in strategy.results:
            metrics = dict(fitres.metrics)
            names = json.loads(str(metrics.pop(NAMES)))
            reply_type = str(metrics.pop(MESSAGE_TYPE))
            mean = parameters_to_ndarrays(fitres.parameters)
            arrays = {name: torch.from_numpy(array) for name, array in zip(names, mean, strict=True)}
            self._inbox[client_of[int(proxy.node_id)]] = Message(reply_type, arrays, metrics)


# --- node side ----------------------------------------------------------------------------------------------


def secure_train(message: FlowerMessage, context: Context, run: FlowerRun) -> FlowerMessage:
    """The ``"train"`` handler under ``secaggplus_mod``: a protocol message in ``FitIns``, its reply as ``FitRes``."""
    fitins = compat.recorddict_to_fitins(message.content, keep_input=True)
    config = fitins.config
    names = json.loads(str(config[NAMES]))
    arrays = parameters_to_ndarrays(fitins.parameters)
    content = RecordDict(
        {
            ARRAYS: ArrayRecord({name: Array(array) for name, array in zip(names, arrays, strict=True)}),
            CONFIG: ConfigRecord(json.loads(str(config[MESSAGE_CONFIG]))),
            ENGINE: ConfigRecord(json.loads(str(config[ENGINE]))),
        }
    )
    inner = FlowerMessage(content, dst_node_id=message.metadata.dst_node_id, message_type=str(config[MESSAGE_TYPE]))
    reply = answer(inner, context, run)
    if reply.has_error():  # the node has rolled its state back; the workflow counts this node as dropped
        raise RuntimeError(reply.error.reason)
    scalars = dict(reply.content.config_records[CONFIG])
    record = reply.content.array_records[ARRAYS]
    fitres = FitRes(
        Status(Code.OK, ""),
        ndarrays_to_parameters([array.numpy() for array in record.values()]),
        int(scalars["num_examples"]),
        {
            **scalars,
            MESSAGE_TYPE: str(reply.content.config_records[ENGINE]["message_type"]),
            NAMES: json.dumps(list(record)),
        },
    )
    return FlowerMessage(compat.fitres_to_recorddict(fitres, keep_input=True), reply_to=message)
