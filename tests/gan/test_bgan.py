"""BGAN: agents exchange only generated samples, along the graph, and use them as real data."""

from __future__ import annotations

import torch
from runtime.conftest import make_engine  # noqa: F401  (the fixture)

from fedgen_registry.federation.local import Delivery
from fedgen_registry.implementations.generation.gan.bgan import neighbours


def test_ring_and_complete_neighbourhoods() -> None:
    assert neighbours(0, [0, 1, 2, 3, 4], "ring") == [1, 4]
    assert neighbours(2, [0, 1, 2, 3], "complete") == [0, 1, 3]


def test_samples_reach_graph_neighbours_only_and_join_their_real_data(make_engine) -> None:  # noqa: F811
    shared: dict[int, torch.Tensor] = {}
    received: dict[int, torch.Tensor] = {}
    engine = None

    def spy(delivery: Delivery) -> None:
        for array in delivery.message.arrays.values():
            for agent in engine.clients.values():
                params = [*agent.generator.state_dict().values(), *agent.discriminator.state_dict().values()]
                assert not any(array.shape == p.shape and torch.equal(array, p) for p in params)
        if delivery.stage == "share" and delivery.direction == "up":
            shared[delivery.client] = delivery.message.arrays["samples"]
        if delivery.stage == "train" and delivery.direction == "down":
            received[delivery.client] = delivery.message.arrays["samples"]

    engine = make_engine("bgan", rounds=1, clients=5, shared_samples=3, observer=spy)
    engine.run()
    assert engine.server.state_dict() == {}  # the relay holds no model
    for cid, agent in engine.clients.items():
        expected = torch.cat([shared[n] for n in neighbours(cid, list(range(5)), "ring")])
        assert torch.equal(received[cid], expected)
        pool = agent.pool().x
        assert torch.equal(pool[-len(expected) :], expected)  # the discriminator's "real" side includes them
        assert len(pool) == len(agent.data.x) + 6


def test_isolated_agents_share_nothing_and_train_on_their_own_rows(make_engine) -> None:  # noqa: F811
    stages: set[str] = set()

    def spy(delivery: Delivery) -> None:
        stages.add(delivery.stage)
        assert all(len(array) == 0 for array in delivery.message.arrays.values())

    engine = make_engine("bgan", rounds=2, clients=4, topology="isolated", observer=spy)
    engine.run()
    assert neighbours(0, [0, 1, 2, 3], "isolated") == []
    assert stages == {"train"}  # no share stage: the standalone baseline sends no samples
    for agent in engine.clients.values():
        assert torch.equal(agent.pool().x, agent.data.x)
