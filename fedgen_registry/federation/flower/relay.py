"""The server side: the engine's round loop, with clients that live on Flower nodes.

The local engine's loop (sampling, seeded calls, drop-outs, quorum and retries, finite-loss checks,
checkpoints, history) runs unchanged in the ``ServerApp``: it is handed a :class:`RelayedAlgorithm`
whose server delivers each stage's messages to the nodes in one ``grid.send_and_receive`` as soon as
the algorithm has configured them, and whose clients are :class:`RemoteClient` stand-ins that hand the
loop the node's reply (or raise the node's error, which the loop counts as that client's failure).

Each message carries the seed the local engine would use for that client call, so a node draws the
same random numbers as the local engine's in-process client: both engines give the same parameters.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from flwr.app import ConfigRecord, RecordDict
from flwr.app import Message as FlowerMessage
from flwr.serverapp import Grid

from fedgen_registry.federation.errors import FederationError
from fedgen_registry.federation.flower.codec import decode_message, encode_message
from fedgen_registry.federation.flower.wire import ENGINE, PARTITION_ID, PARTITION_QUERY
from fedgen_registry.federation.protocol import Algorithm, Client, Message, Server, State
from fedgen_registry.federation.seeding import derive_seed


class NodeError(Exception):
    """A node answered with an error, or not before the reply timeout."""


def connect(grid: Grid, clients: int, timeout: float) -> dict[int, int]:
    """``{client id: node id}`` for clients ``0 .. clients-1``, once that many nodes are connected.

    Nodes connect after the ``ServerApp`` starts (in simulation too), so wait for them; then ask each for
    its ``partition-id``. Nodes whose id is ``clients`` or more are left out.
    """
    deadline = time.monotonic() + timeout
    while len(nodes := sorted(grid.get_node_ids())) < clients:
        if time.monotonic() > deadline:
            raise FederationError(f"{len(nodes)} of the {clients} Flower nodes the run needs connected in {timeout} s")
        time.sleep(0.05)
    asks = [FlowerMessage(RecordDict(), dst_node_id=node, message_type=PARTITION_QUERY) for node in nodes]
    found: dict[int, int] = {}
    for reply in grid.send_and_receive(asks, timeout=timeout):
        if reply.has_error():
            raise FederationError(
                f"Flower node {reply.metadata.src_node_id} failed the hand-shake: {reply.error.reason}"
            )
        partition = int(reply.content.config_records[ENGINE][PARTITION_ID])
        if partition in found:
            raise FederationError(f"two Flower nodes have partition-id {partition}; each needs its own")
        found[partition] = reply.metadata.src_node_id
    missing = sorted(set(range(clients)) - set(found))
    if missing:
        raise FederationError(f"no Flower node has partition-id {missing} (the run has {clients} clients)")
    return {cid: found[cid] for cid in range(clients)}


class Relay:
    """Delivers one stage's messages to their nodes at once and keeps the replies for the stand-ins."""

    def __init__(self, grid: Grid, nodes: Mapping[int, int], seed: int, timeout: float) -> None:
        self.grid, self.nodes, self.seed, self.timeout = grid, dict(nodes), seed, timeout
        self._inbox: dict[int, Message | NodeError] = {}

    def engine_config(self, stage: str, server_round: int, attempt: int, cid: int) -> dict[str, int | str]:
        """What a node needs besides the message: where the call is in the run, and the local engine's seed."""
        return {
            "round": server_round,
            "attempt": attempt,
            "stage": stage,
            "seed": derive_seed(self.seed, server_round, attempt, "client", cid, stage),
        }

    def exchange(self, stage: str, server_round: int, attempt: int, messages: Mapping[int, Message]) -> None:
        outgoing = []
        for cid, message in messages.items():
            content = encode_message(message)
            content[ENGINE] = ConfigRecord(self.engine_config(stage, server_round, attempt, cid))
            outgoing.append(
                FlowerMessage(
                    content, dst_node_id=self.nodes[cid], message_type=message.message_type, group_id=str(server_round)
                )
            )
        client_of = {node: cid for cid, node in self.nodes.items()}
        self._inbox = {cid: NodeError(f"no reply within {self.timeout} s") for cid in messages}
        replies = list(self.grid.send_and_receive(outgoing, timeout=self.timeout))
        # Pushing gives each outgoing message its id; a reply names the message it answers. The SuperLink's
        # own error replies (a node that died) come from the SuperLink, not the node, so the sender won't do.
        pairs = zip(outgoing, messages, strict=True)
        asked = {sent.metadata.message_id: cid for sent, cid in pairs if sent.metadata.message_id}
        for reply in replies:
            answered = reply.metadata.reply_to_message_id
            cid = asked[answered] if answered in asked else client_of.get(reply.metadata.src_node_id)
            if cid is None:
                continue  # not an answer to this stage's messages
            if reply.has_error():
                self._inbox[cid] = NodeError(reply.error.reason or f"error code {reply.error.code}")
            else:
                engine = reply.content.config_records[ENGINE]
                self._inbox[cid] = decode_message(reply.content, str(engine["message_type"]))

    def collect(self, cid: int) -> Message:
        reply = self._inbox.pop(cid)
        if isinstance(reply, NodeError):
            raise reply
        return reply


class RemoteClient(Client):
    """A client that lives on a Flower node; its private state stays there (``state_dict`` is empty here)."""

    def __init__(self, cid: int, relay: Relay) -> None:
        self.cid, self.relay = cid, relay

    def handle(self, message: Message) -> Message:
        return self.relay.collect(self.cid)


class RelayedServer(Server):
    """The algorithm's server, unchanged, plus delivery of each stage's messages when they are configured."""

    def __init__(self, inner: Server, relay: Relay) -> None:
        self.inner, self.relay = inner, relay
        self._round, self._attempt = 0, 0

    def sample(self, server_round: int, available: Sequence[int], rng: np.random.Generator) -> list[int]:
        """The engine samples once per attempt of a round, which is how the relay knows the attempt."""
        self._attempt = self._attempt + 1 if server_round == self._round else 0
        self._round = server_round
        return self.inner.sample(server_round, available, rng)

    def stages(self, server_round: int) -> Sequence[str]:
        return self.inner.stages(server_round)

    def configure(self, stage: str, server_round: int, clients: Sequence[int]) -> dict[int, Message]:
        messages = self.inner.configure(stage, server_round, clients)
        taking_part = {cid: message for cid, message in messages.items() if cid in clients}  # the loop refuses others
        self.relay.exchange(stage, server_round, self._attempt, taking_part)
        return messages

    def aggregate(self, stage: str, server_round: int, replies: Mapping[int, Message]) -> dict[str, float]:
        return self.inner.aggregate(stage, server_round, replies)

    def state_dict(self) -> State:
        return self.inner.state_dict()

    def load_state_dict(self, state: State) -> None:
        self.inner.load_state_dict(state)


class RelayedAlgorithm(Algorithm[Any]):
    """An algorithm whose clients run on Flower nodes; data, server and judging are the algorithm's own."""

    def __init__(self, inner: Algorithm[Any], relay: Relay) -> None:
        super().__init__(inner.config, inner.run_dir)
        self.inner, self.relay = inner, relay

    @property
    def num_clients(self) -> int:
        return self.inner.num_clients

    def make_server(self) -> RelayedServer:
        return RelayedServer(self.inner.make_server(), self.relay)

    def make_client(self, client_id: int) -> RemoteClient:
        return RemoteClient(client_id, self.relay)

    def finish(self, server: Server) -> dict[str, Any]:
        return self.inner.finish(server.inner if isinstance(server, RelayedServer) else server)
