"""The client side on a Flower node: rebuild the client from ``context.state``, answer, store its state back.

A Flower node may run each message in another process (Ray actors in simulation, a fresh ClientApp
process in a deployment), so nothing but ``context.state`` is trusted to persist: each message rebuilds
the client with the algorithm's own ``make_client`` (under the seed the local engine uses) and loads
the private state saved after the previous message. That state stays on the node; only what the
client's reply holds goes back.

The node keeps two copies, *current* and *committed* (the state at the end of the last round the
server completed), so it can honour the engine's roll-back without the state ever leaving the node:
a message of a later round commits the current copy (the server only moves on after committing a
round), a message of a retried attempt of the same round restores the committed copy, and a client
that raises is restored to it as well, exactly as the local engine restores its last good state.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from flwr.app import ArrayRecord, ConfigRecord, Context, Error, RecordDict
from flwr.app import Message as FlowerMessage
from flwr.common.constant import ErrorCode

from fedgen_registry.federation.flower.codec import (
    decode_message,
    decode_state,
    encode_message,
    encode_state,
)
from fedgen_registry.federation.flower.job import FlowerRun
from fedgen_registry.federation.flower.wire import ENGINE, PARTITION_ID
from fedgen_registry.federation.protocol import Algorithm, Client, State
from fedgen_registry.federation.seeding import derive_seed, deterministic, seed_everything

NODE = "fedgen.node"
CURRENT, COMMITTED = "fedgen.current", "fedgen.committed"


@dataclass(frozen=True)
class _Built:
    algorithm: Algorithm[Any]
    scratch: tempfile.TemporaryDirectory[str]  # the algorithm's run_dir on a node; removed with the cache entry


@lru_cache(maxsize=2)
def _build(run: FlowerRun) -> _Built:
    spec = run.spec()
    scratch = tempfile.TemporaryDirectory(prefix="fedgen-node-")
    return _Built(spec.target(spec.config.model_validate_json(run.config), Path(scratch.name)), scratch)


def node_algorithm(run: FlowerRun) -> Algorithm[Any]:
    """The algorithm (data loaded and partitioned), built once per process and run."""
    return _build(run).algorithm


class NodeState:
    """A client's private state in ``context.state``: the current copy, the committed one, and a tag."""

    def __init__(self, records: RecordDict) -> None:
        self.records = records

    def _load(self, which: str) -> State | None:
        layout = str(self.records.config_records[NODE][which])
        return decode_state(self.records.array_records[which], layout) if layout else None

    def _tag(self, server_round: int, attempt: int, current: str, committed: str) -> None:
        self.records[NODE] = ConfigRecord(
            {"round": server_round, "attempt": attempt, CURRENT: current, COMMITTED: committed}
        )

    def begin(self, server_round: int, attempt: int) -> State | None:
        """The state to answer a message of this round and attempt with (``None``: a fresh client)."""
        tag = self.records.config_records.get(NODE)
        if tag is None:
            return None
        current, committed = str(tag[CURRENT]), str(tag[COMMITTED])
        if int(tag["round"]) < server_round:  # the server completed that round: commit
            self.records[COMMITTED] = self.records.array_records[CURRENT]
            committed = current
        elif int(tag["attempt"]) != attempt:  # the attempt this state came from failed: roll back
            self.records[CURRENT] = self.records.array_records[COMMITTED]
            current = committed
        self._tag(server_round, attempt, current, committed)
        return self._load(CURRENT)

    def end(self, state: State, server_round: int, attempt: int) -> None:
        """Store the state the client holds after answering."""
        arrays, layout = encode_state(state)
        tag = self.records.config_records.get(NODE)
        self.records[CURRENT] = arrays
        if tag is None:  # the first message this node answers: nothing committed yet
            self.records[COMMITTED] = ArrayRecord()
        self._tag(server_round, attempt, layout, str(tag[COMMITTED]) if tag else "")

    def abort(self) -> None:
        """Restore the committed copy after the client raised."""
        tag = self.records.config_records.get(NODE)
        if tag is not None:
            self.records[CURRENT] = self.records.array_records[COMMITTED]
            self._tag(int(tag["round"]), int(tag["attempt"]), str(tag[COMMITTED]), str(tag[COMMITTED]))


def rebuild(algorithm: Algorithm[Any], cid: int, state: State | None) -> Client:
    """The client as the local engine built it (same seed), then brought to ``state``."""
    seed_everything(derive_seed(algorithm.config.seed, "init", "client", cid))
    client = algorithm.make_client(cid)
    if state is not None:
        client.load_state_dict(state)
    return client


def answer(message: FlowerMessage, context: Context, run: FlowerRun) -> FlowerMessage:
    """Handle one protocol message on this node; a client that raises becomes an error reply."""
    algorithm = node_algorithm(run)
    cid = int(context.node_config[PARTITION_ID])  # the hand-shake checked that it is there
    engine = message.content.config_records[ENGINE]
    server_round, attempt = int(engine["round"]), int(engine["attempt"])
    store = NodeState(context.state)
    with deterministic(algorithm.config.torch_threads):
        client = rebuild(algorithm, cid, store.begin(server_round, attempt))
        seed_everything(int(engine["seed"]))
        try:
            reply = client.handle(decode_message(message.content, message.metadata.message_type))
        except Exception as exc:  # reported to the server as this client's failure, as the local engine does
            store.abort()
            return FlowerMessage(
                Error(ErrorCode.CLIENT_APP_RAISED_EXCEPTION, f"{type(exc).__name__}: {exc}"), reply_to=message
            )
        store.end(client.state_dict(), server_round, attempt)
    content = encode_message(reply)
    content[ENGINE] = ConfigRecord({"message_type": reply.message_type})
    return FlowerMessage(content, reply_to=message)
