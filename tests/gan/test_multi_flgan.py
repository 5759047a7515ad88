"""MULTI-FLGAN: clients are grouped by label distribution and each group averages only its own GAN."""

from __future__ import annotations

import numpy as np
import torch
from runtime.conftest import make_engine  # noqa: F401  (the fixture)

from fedgen_registry.federation.local import Delivery


def test_each_group_averages_only_its_members(make_engine) -> None:  # noqa: F811
    replies: dict[int, tuple[dict[str, torch.Tensor], int]] = {}

    def spy(delivery: Delivery) -> None:
        if delivery.stage == "train" and delivery.direction == "up" and delivery.server_round == 2:
            replies[delivery.client] = (dict(delivery.message.arrays), delivery.message.config["num_examples"])

    # shards: client i and i + 5 hold the same two classes, so five groups pair them up
    engine = make_engine("multi-flgan", rounds=2, num_gans=5, local_steps=1, observer=spy)
    engine.run()
    server, algorithm = engine.server, engine.algorithm
    classes = {c: frozenset(np.unique(algorithm.train.y[algorithm.parts[c]]).tolist()) for c in range(10)}
    for a in range(10):
        for b in range(10):
            assert (server.group[a] == server.group[b]) == (classes[a] == classes[b])
    for g, generator in enumerate(server.generators):
        members = [c for c in sorted(replies) if server.group[c] == g]
        sizes = np.array([replies[c][1] for c in members], dtype=np.float64)
        mean = sum(
            (n / sizes.sum()) * replies[c][0]["g.net.0.weight"].double() for c, n in zip(members, sizes, strict=True)
        )
        assert torch.allclose(generator.state_dict()["net.0.weight"].double(), mean, atol=1e-6)
    first, second = (g.state_dict()["net.0.weight"] for g in server.generators[:2])
    assert not torch.equal(first, second)  # separate GANs, not one global model


def test_the_federation_samples_from_every_group(make_engine) -> None:  # noqa: F811
    engine = make_engine("multi-flgan", rounds=1, num_gans=3, local_steps=1)
    engine.run()
    mixture = engine.server.generator
    assert len(mixture.components) == 3
    expected = [engine.server.group_sizes[g] for g in range(3)]
    assert torch.allclose(mixture.probabilities, torch.tensor(expected, dtype=torch.float64) / sum(expected))


def test_every_client_is_grouped_when_only_some_train_a_round(make_engine) -> None:  # noqa: F811
    trained: dict[int, list[int]] = {}

    def spy(delivery: Delivery) -> None:
        if delivery.stage == "train" and delivery.direction == "up":
            trained.setdefault(delivery.server_round, []).append(delivery.client)

    engine = make_engine("multi-flgan", rounds=2, num_gans=3, local_steps=1, clients_per_round=2, observer=spy)
    engine.run()
    assert sorted(engine.server.group) == list(range(10))  # the profiling round asked everyone
    assert [len(trained[r]) for r in (1, 2)] == [2, 2]
