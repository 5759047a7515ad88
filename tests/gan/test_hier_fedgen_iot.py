"""Device-edge-cloud generator: D stays on devices; the async cloud mixes edge reports by staleness."""

from __future__ import annotations

import math

import pytest
import torch
from runtime.conftest import make_engine  # noqa: F401  (the fixture)

from fedgen_registry.federation.local import Delivery


def test_only_generators_travel_and_sync_cloud_equalises_edges(make_engine) -> None:  # noqa: F811
    received: dict[tuple[int, int], torch.Tensor] = {}

    def spy(delivery: Delivery) -> None:
        assert all(name.startswith("g.") for name in delivery.message.arrays)  # discriminators stay home
        if delivery.direction == "down":
            received[(delivery.server_round, delivery.client)] = delivery.message.arrays["g.net.0.weight"]

    engine = make_engine("hier-fedgen-iot", rounds=3, local_steps=1, edges=2, cloud_every=2, observer=spy)
    engine.run()
    assert not torch.equal(received[(2, 0)], received[(2, 9)])  # after round 1: two edge models
    assert torch.equal(received[(2, 0)], received[(2, 4)])  # one model per edge
    assert all(torch.equal(received[(3, 0)], received[(3, c)]) for c in range(10))  # cloud after round 2


def test_async_cloud_mixes_edge_reports_with_staleness_weights(make_engine) -> None:  # noqa: F811
    history: list[tuple[int, list[dict], dict[str, torch.Tensor], dict[int, dict[str, torch.Tensor]]]] = []
    engine = None
    start: dict[int, dict[str, torch.Tensor]] = {}

    def spy(delivery: Delivery) -> None:
        start.setdefault(delivery.server_round, dict(engine.server.cloud))

    engine = make_engine(
        "hier-fedgen-iot",
        rounds=4,
        local_steps=1,
        edges=3,
        updating="async",
        alpha=0.8,
        staleness_a=0.9,
        max_edge_period=3,
        clients=6,
        **{"data.partition": "iid"},
        observer=spy,
    )
    server = engine.server
    assert server.periods == [1, 2, 3]
    original = server.cloud_step

    def recorded(server_round, updated):
        edges = {e: dict(server.edges[e]) for e in range(server.num_edges)}
        before = dict(server.cloud)
        metrics = original(server_round, updated)
        history.append((server_round, list(server.reports), before, edges))
        return metrics

    server.cloud_step = recorded
    engine.run()
    reported = {r: [int(x["edge"]) for x in reports] for r, reports, _, _ in history}
    assert reported == {1: [0], 2: [0, 1], 3: [0, 2], 4: [0, 1]}
    stalenesses = {(r, int(x["edge"])): x["staleness"] for r, reports, _, _ in history for x in reports}
    assert stalenesses[(3, 2)] == 4 and stalenesses[(4, 1)] == 3  # cloud updates since the edge last synced
    for _, reports, before, edges in history:
        cloud = {k: v.double() for k, v in before.items()}
        for report in reports:
            weight = 0.8 * math.exp(-0.9 * report["staleness"])
            assert report["weight"] == pytest.approx(weight)
            cloud = {k: (1 - weight) * v + weight * edges[int(report["edge"])][k].double() for k, v in cloud.items()}
    assert torch.allclose(server.cloud["g.net.0.weight"].double(), cloud["g.net.0.weight"], atol=1e-6)
