"""FeGAN: the trained devices cover the classes evenly, and their models are KL-weighted, not size-weighted."""

from __future__ import annotations

import math

import numpy as np
import torch
from runtime.conftest import make_engine  # noqa: F401  (the fixture)

from fedgen_registry.federation.local import Delivery


def test_balanced_sampling_covers_every_class_each_round(make_engine) -> None:  # noqa: F811
    trained: dict[int, set[int]] = {}

    def spy(delivery: Delivery) -> None:
        if delivery.stage == "train" and delivery.direction == "down":
            trained.setdefault(delivery.server_round, set()).add(delivery.client)

    # two labels per device: 5 of 10 devices can cover all 10 classes only if chosen for balance
    engine = make_engine("fegan", rounds=4, local_steps=1, observer=spy)
    engine.run()
    labels = engine.algorithm.train.y
    for server_round, devices in trained.items():
        assert len(devices) == 5
        covered = set(np.unique(labels[np.concatenate([engine.algorithm.parts[c] for c in devices])]).tolist())
        assert covered == set(range(10)), f"round {server_round} trained on classes {sorted(covered)}"
    assert len({frozenset(d) for d in trained.values()}) > 1  # the random start still varies the set


def test_aggregation_uses_kl_weights(make_engine) -> None:  # noqa: F811
    replies: dict[int, dict[str, torch.Tensor]] = {}

    def spy(delivery: Delivery) -> None:
        if delivery.stage == "train" and delivery.direction == "up":
            replies[delivery.client] = dict(delivery.message.arrays)

    engine = make_engine(
        "fegan",
        rounds=1,
        clients=4,
        devices_per_round=4,
        local_steps=1,
        **{"data.partition": "dirichlet", "data.alpha": 0.3},
        observer=spy,
    )
    engine.run()
    labels, parts = engine.algorithm.train.y, engine.algorithm.parts
    reference = np.bincount(labels, minlength=10) / len(labels)
    expected_weights = {}
    for cid in sorted(replies):
        p = np.bincount(labels[parts[cid]], minlength=10) / len(parts[cid])
        kl = sum(pi * math.log(pi / qi) for pi, qi in zip(p, reference, strict=True) if pi > 0)
        expected_weights[cid] = len(parts[cid]) * math.exp(-kl)
    total = sum(expected_weights.values())
    for cid, weight in engine.server.last_weights["generator"].items():
        assert abs(weight - expected_weights[cid] / total) < 1e-9
    mean = sum((expected_weights[c] / total) * replies[c]["g.net.0.weight"].double() for c in sorted(replies))
    assert torch.allclose(engine.server.generator.state_dict()["net.0.weight"].double(), mean, atol=1e-6)
    sizes = np.array([len(parts[c]) for c in sorted(replies)], dtype=np.float64)
    size_mean = sum(
        (n / sizes.sum()) * replies[c]["g.net.0.weight"].double() for c, n in zip(sorted(replies), sizes, strict=True)
    )
    assert not torch.allclose(engine.server.generator.state_dict()["net.0.weight"].double(), size_mean, atol=1e-6)
