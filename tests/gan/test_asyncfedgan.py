"""AsyncFedGAN: slow clients arrive rarely with stale models, and each arrival is mixed with its staleness weight."""

from __future__ import annotations

import math

import pytest
import torch
from runtime.conftest import make_engine  # noqa: F401  (the fixture)

from fedgen_registry.federation.local import Delivery
from fedgen_registry.strategies.gan import staleness_weight


def test_staleness_rules() -> None:
    assert staleness_weight(7, "constant", 0.5, 4) == 1.0
    assert staleness_weight(3, "exponential", 0.5, 4) == pytest.approx(math.exp(-1.5))
    assert staleness_weight(4, "hinge", 0.5, 4) == 1.0
    assert staleness_weight(6, "hinge", 0.5, 4) == pytest.approx(1 / (0.5 * 2 + 1))


def test_arrivals_are_mixed_with_their_staleness_weights(make_engine) -> None:  # noqa: F811
    alpha, a = 0.6, 0.7
    rounds: dict[int, dict] = {}
    engine = None

    def spy(delivery: Delivery) -> None:
        record = rounds.setdefault(delivery.server_round, {"down": {}, "up": {}})
        if not record["down"] and delivery.direction == "down":
            record["start"] = {k: v.clone() for k, v in engine.server.generator.state_dict().items()}
        record[delivery.direction][delivery.client] = dict(delivery.message.arrays)

    engine = make_engine(
        "asyncfedgan",
        rounds=6,
        clients=5,
        local_steps=1,
        alpha=alpha,
        staleness_a=a,
        max_latency=3,
        observer=spy,
        **{"data.partition": "quantity"},
    )
    latencies = engine.server.latencies
    assert min(latencies) == 1 and max(latencies) > 1
    engine.run()
    for cid, latency in enumerate(latencies):
        arrived = sorted(r for r, record in rounds.items() if cid in record["up"])
        assert arrived == list(range(latency, 7, latency))  # only when its simulated update completes
    # replay the last round: sequential mixing with alpha * exp(-a * staleness)
    last = rounds[6]
    current = {k: v.double() for k, v in last["start"].items()}
    for entry in engine.server.mixed:
        weight = alpha * math.exp(-a * entry["staleness"])
        assert entry["weight"] == pytest.approx(weight)
        upload = last["up"][int(entry["client"])]
        current = {k: (1 - weight) * v + weight * upload["g." + k].double() for k, v in current.items()}
    for name, value in engine.server.generator.state_dict().items():
        assert torch.allclose(value.double(), current[name], atol=1e-6)
    assert any(m["staleness"] > 0 for m in engine.server.mixed)


def test_a_slow_client_trains_from_the_model_it_downloaded_earlier(make_engine) -> None:  # noqa: F811
    engine = None
    received: dict[tuple[int, int], dict[str, torch.Tensor]] = {}
    handed: dict[int, dict[str, torch.Tensor]] = {}
    round_start: dict[int, dict[str, torch.Tensor]] = {}

    def spy(delivery: Delivery) -> None:
        if delivery.direction != "down":
            return
        received[(delivery.server_round, delivery.client)] = dict(delivery.message.arrays)
        round_start.setdefault(
            delivery.server_round, {k: v.clone() for k, v in engine.server.generator.state_dict().items()}
        )
        handed.setdefault(delivery.server_round, dict(engine.server.downloaded[slow][1]))

    engine = make_engine("asyncfedgan", rounds=6, clients=5, local_steps=1, max_latency=3, observer=spy)
    latencies = engine.server.latencies
    slow = max(range(5), key=lambda c: latencies[c])
    first, second = latencies[slow], 2 * latencies[slow]
    engine.run()
    message = received[(second, slow)]
    # the slow client trains from what it was handed at its first arrival ...
    assert all(torch.equal(message[k], handed[first + 1][k]) for k in message)
    # ... which is stale: the global moved on through the faster clients' arrivals in between
    assert not torch.equal(message["g.net.0.weight"], round_start[second]["net.0.weight"])
