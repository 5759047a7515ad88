"""MD-GAN's mechanism: the generator stays on the server, feedback moves it, discriminators really swap."""

from __future__ import annotations

import torch

from fedgen_registry.federation.local import Delivery
from fedgen_registry.federation.protocol import Message
from fedgen_registry.models.gan import MLPGenerator


def test_no_generator_parameter_ever_travels(make_engine) -> None:
    deliveries: list[Delivery] = []
    leaks: list[str] = []
    engine = None

    def spy(delivery: Delivery) -> None:
        deliveries.append(delivery)
        for name, array in delivery.message.arrays.items():
            for parameter in engine.server.generator.state_dict().values():
                if array.shape == parameter.shape and torch.equal(array, parameter):
                    leaks.append(f"round {delivery.server_round} {delivery.direction} {name}")
            if name.startswith("g."):
                leaks.append(name)

    engine = make_engine("md-gan", rounds=4, swap_every=2, observer=spy)
    engine.run()
    assert not leaks
    stages = {(d.stage, d.direction) for d in deliveries}
    assert {("train", "down"), ("train", "up"), ("swap.collect", "up"), ("swap.deliver", "down")} <= stages
    assert not any(
        isinstance(value, MLPGenerator) for client in engine.clients.values() for value in vars(client).values()
    )


def test_discriminators_move_to_other_workers_at_swap_rounds(make_engine) -> None:
    collected: dict[int, dict[str, torch.Tensor]] = {}
    swap_rounds: set[int] = set()

    def spy(delivery: Delivery) -> None:
        if delivery.stage == "swap.collect" and delivery.direction == "up":
            collected[delivery.client] = dict(delivery.message.arrays)
            swap_rounds.add(delivery.server_round)

    engine = make_engine("md-gan", rounds=3, swap_every=3, observer=spy)
    engine.run()
    assert swap_rounds == {3}
    owner_of = {}
    for receiver, client in engine.clients.items():
        weights = client.discriminator.state_dict()
        givers = [
            g for g, arrays in collected.items() if all(torch.equal(arrays["d." + k], v) for k, v in weights.items())
        ]
        assert len(givers) == 1, f"client {receiver} holds no (or an ambiguous) collected discriminator"
        owner_of[receiver] = givers[0]
    assert sorted(owner_of.values()) == sorted(engine.clients)  # a permutation: every discriminator kept once
    assert all(receiver != giver for receiver, giver in owner_of.items())  # and every one moved


def test_the_generator_moves_only_through_worker_feedback(make_engine, tmp_path) -> None:
    def generator_after_one_round(zero_feedback: bool) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        engine = make_engine("md-gan", rounds=1, swap_every=0, run_dir=tmp_path / str(zero_feedback))
        if zero_feedback:
            for client in engine.clients.values():
                original = client.handle
                client.handle = lambda message, original=original: _zeroed(original(message))
        initial = {k: v.clone() for k, v in engine.server.generator.state_dict().items()}
        engine.run()
        return initial, engine.server.generator.state_dict()

    initial, trained = generator_after_one_round(zero_feedback=False)
    assert any(not torch.equal(initial[k], trained[k]) for k in initial)
    initial, untouched = generator_after_one_round(zero_feedback=True)
    assert all(torch.equal(initial[k], untouched[k]) for k in initial)


def _zeroed(reply: Message) -> Message:
    return Message(reply.message_type, {"feedback": torch.zeros_like(reply.arrays["feedback"])}, reply.config)
