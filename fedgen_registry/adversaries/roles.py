"""Adversary roles as wrappers around a protocol's server and clients (see the package docstring).

A role sees what its position in the protocol sees, no more: the curious server's transcript is built
from the replies its :meth:`~fedgen_registry.federation.protocol.Server.aggregate` receives, a
malicious client rewrites its own reply and can read only the message it was sent and its own state,
and an eavesdropper is handed the engine's deliveries. None of them changes what honest parties do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fedgen_registry.federation.local import Delivery
from fedgen_registry.federation.protocol import Algorithm, Client, Message, Server, State, WrappedServer


@dataclass(frozen=True)
class Observed:
    """One message an adversary saw: when, from or to whom, and what."""

    server_round: int
    stage: str
    client: int
    message: Message


class CuriousServer(WrappedServer):
    """An honest-but-curious server: aggregates exactly as ``inner`` does and keeps every reply it received.

    The transcript is the attacker's view (the input to a reconstruction or membership attack); it is not
    part of the checkpointed state, because an attack reads it after the run, from the same process.
    """

    def __init__(self, inner: Server) -> None:
        super().__init__(inner)
        self.transcript: list[Observed] = []

    def aggregate(self, stage: str, server_round: int, replies: Mapping[int, Message]) -> dict[str, float]:
        self.transcript.extend(Observed(server_round, stage, cid, replies[cid]) for cid in sorted(replies))
        return self.inner.aggregate(stage, server_round, replies)


Tamper = Callable[[Message, Message], Message]
"""``tamper(received, honest_reply) -> sent_reply``: what a malicious client makes of its own reply."""


class MaliciousClient(Client):
    """A client that answers through ``inner`` (its own rows and state) and then rewrites its own reply.

    It holds a reference to its own client only: it cannot read another client's rows or messages,
    which is the malicious-client capability of the threat model (a test checks this on the wire).
    """

    def __init__(self, inner: Client, tamper: Tamper) -> None:
        self.inner, self.tamper = inner, tamper
        self.sent: list[Message] = []

    def handle(self, message: Message) -> Message:
        reply = self.tamper(message, self.inner.handle(message))
        self.sent.append(reply)
        return reply

    def state_dict(self) -> State:
        return self.inner.state_dict()

    def load_state_dict(self, state: State) -> None:
        self.inner.load_state_dict(state)


@dataclass
class Eavesdropper:
    """An observer of the wire (pass it as ``LocalEngine(observer=...)``); ``direction`` ``"up"``, ``"down"`` or both."""

    directions: tuple[str, ...] = ("up", "down")
    seen: list[Delivery] = field(default_factory=list)

    def __call__(self, delivery: Delivery) -> None:
        if delivery.direction in self.directions:
            self.seen.append(delivery)


def with_adversaries(
    algorithm_class: type[Algorithm[Any]],
    *,
    curious_server: bool = False,
    malicious: Mapping[int, Tamper] | None = None,
) -> type[Algorithm[Any]]:
    """``algorithm_class`` with a curious server and/or malicious clients (by client id) in place of honest ones.

    Everything else (config, data, partition, evaluation) is the victim's own, so an attack runs against
    any registered federation: ``with_adversaries(get_implementation("fedavg-gan").target, curious_server=True)``.
    """
    tampering = dict(malicious or {})

    class Attacked(algorithm_class):  # type: ignore[misc, valid-type]
        def make_server(self) -> Server:
            server = super().make_server()
            return CuriousServer(server) if curious_server else server

        def make_client(self, client_id: int) -> Client:
            client = super().make_client(client_id)
            tamper = tampering.get(client_id)
            return MaliciousClient(client, tamper) if tamper is not None else client

        def finish(self, server: Server) -> dict[str, Any]:
            return super().finish(server.inner if isinstance(server, CuriousServer) else server)

    Attacked.__name__ = Attacked.__qualname__ = f"Attacked{algorithm_class.__name__}"
    return Attacked
