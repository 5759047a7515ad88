"""Adversary roles compose with a registered federation and see exactly what their position sees."""

from __future__ import annotations

import torch

from fedgen_registry.adversaries.roles import CuriousServer, Eavesdropper, MaliciousClient, with_adversaries
from fedgen_registry.federation.local import LocalEngine
from fedgen_registry.federation.protocol import Message
from fedgen_registry.registry import get_implementation
from fedgen_registry.runs.runner import build_config
from runtime.settings import FAST_EVAL

SETTINGS = {**FAST_EVAL, "rounds": 2, "clients": 3, "local_steps": 2}


def attacked_engine(tmp_path, name, observer=None, **roles):
    spec = get_implementation("fedavg-gan")
    config = build_config(spec, "smoke", SETTINGS)
    algorithm = with_adversaries(spec.target, **roles)(config, tmp_path / name)
    return LocalEngine(algorithm, tmp_path / name, quiet=True, observer=observer)


def test_curious_server_keeps_what_the_protocol_hands_it_and_changes_nothing(make_engine, tmp_path) -> None:
    honest = make_engine("fedavg-gan", **SETTINGS)
    honest.run()
    wire = Eavesdropper(directions=("up",))
    curious = attacked_engine(tmp_path, "curious", observer=wire, curious_server=True)
    curious.run()
    assert isinstance(curious.server, CuriousServer)
    for key, value in honest.server.state_dict()["generator"].items():
        assert torch.equal(value, curious.server.state_dict()["generator"][key])
    seen = [(o.server_round, o.client, sorted(o.message.arrays)) for o in curious.server.transcript]
    sent = [(d.server_round, d.client, sorted(d.message.arrays)) for d in wire.seen]
    assert seen == sent and len(seen) == 2 * 3
    for observed, delivery in zip(curious.server.transcript, wire.seen, strict=True):
        for name, array in observed.message.arrays.items():
            assert torch.equal(array, delivery.message.arrays[name])


def test_malicious_client_controls_only_its_own_reply(tmp_path) -> None:
    received: list[Message] = []

    def zero_generator(message: Message, reply: Message) -> Message:
        received.append(message)
        arrays = {k: torch.zeros_like(v) if k.startswith("g.") else v for k, v in reply.arrays.items()}
        return Message(reply.message_type, arrays, reply.config)

    wire = Eavesdropper()
    engine = attacked_engine(tmp_path, "malicious", observer=wire, malicious={1: zero_generator})
    engine.run()
    attacker = engine.clients[1]
    assert isinstance(attacker, MaliciousClient)
    assert not isinstance(engine.clients[0], MaliciousClient)
    # what the attacker could read: the server's messages to it and its own rows, nothing of clients 0 and 2
    to_attacker = [d.message for d in wire.seen if d.direction == "down" and d.client == 1]
    assert len(received) == len(to_attacker) == 2
    for got, sent in zip(received, to_attacker, strict=True):
        assert got is sent
    own_rows = attacker.inner.data.x
    partition = engine.algorithm.client_data(1).x
    assert torch.equal(own_rows, partition)
    # its tampered upload is what reached the server, and it moved the global generator
    uploads = [d.message for d in wire.seen if d.direction == "up" and d.client == 1]
    assert all(torch.count_nonzero(m.arrays[k]) == 0 for m in uploads for k in m.arrays if k.startswith("g."))
    honest = attacked_engine(tmp_path, "honest")
    honest.run()
    first = next(iter(honest.server.state_dict()["generator"]))
    assert not torch.equal(
        honest.server.state_dict()["generator"][first], engine.server.state_dict()["generator"][first]
    )
