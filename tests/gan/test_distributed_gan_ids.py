"""Distributed GAN IDS: no network ever travels; rows go to ring neighbours only; their feedback moves G."""

from __future__ import annotations

import torch
from runtime.conftest import make_engine  # noqa: F401  (the fixture)

from fedgen_registry.federation.local import Delivery
from fedgen_registry.federation.protocol import Message


def test_only_rows_and_feedback_travel_between_ring_neighbours(make_engine) -> None:  # noqa: F811
    engine = None
    problems: list[str] = []

    def spy(delivery: Delivery) -> None:
        for name, array in delivery.message.arrays.items():
            for device in engine.clients.values():
                for p in [*device.generator.state_dict().values(), *device.discriminator.state_dict().values()]:
                    if array.shape == p.shape and torch.equal(array, p):
                        problems.append(f"parameter in {name}")
            if delivery.stage == "judge" and delivery.direction == "down":
                sender = int(name.rsplit(".", 1)[1])
                if sender not in engine.server.neighbours[delivery.client]:
                    problems.append(f"{sender} -> {delivery.client} is not a neighbour")

    engine = make_engine("distributed-gan-ids", rounds=2, clients=5, observer=spy)
    assert engine.server.neighbours[0] == [1, 4]
    engine.run()
    assert not problems
    assert not vars(engine.server).get("generator")


def test_neighbour_feedback_moves_the_generator(make_engine, tmp_path) -> None:  # noqa: F811
    def generator_after_one_round(zero_feedback: bool) -> torch.Tensor:
        engine = make_engine("distributed-gan-ids", rounds=1, clients=4, run_dir=tmp_path / str(zero_feedback))
        if zero_feedback:
            for device in engine.clients.values():
                original = device.handle

                def handle(message: Message, original=original) -> Message:
                    if message.message_type == "train.apply_feedback":
                        message = Message(
                            message.message_type, {k: torch.zeros_like(v) for k, v in message.arrays.items()}
                        )
                    return original(message)

                device.handle = handle
        engine.run()
        return engine.clients[0].generator.state_dict()["net.0.weight"]

    assert not torch.equal(generator_after_one_round(False), generator_after_one_round(True))


def test_standalone_devices_exchange_no_rows_and_train_on_their_own_loss(make_engine) -> None:  # noqa: F811
    sent: list[str] = []

    def spy(delivery: Delivery) -> None:
        if delivery.stage in ("judge", "update"):
            sent.extend(delivery.message.arrays)

    engine = make_engine("distributed-gan-ids", rounds=2, clients=4, hops=0, observer=spy)
    initial = engine.clients[0].generator.state_dict()["net.0.weight"].clone()
    engine.run()
    assert engine.server.neighbours == {0: [], 1: [], 2: [], 3: []}
    assert not sent  # no neighbour's rows to judge, no feedback to apply
    assert not torch.equal(engine.clients[0].generator.state_dict()["net.0.weight"], initial)
    assert 0.0 <= engine.algorithm.finish(engine.server)["ids_auc"] <= 1.0
