"""IFL-GAN: the global generator is the MMD-softmax-weighted mean of the local generators."""

from __future__ import annotations

import math

import torch
from runtime.conftest import make_engine  # noqa: F401  (the fixture)

from fedgen_registry.federation.local import Delivery
from fedgen_registry.implementations.generation.gan.ifl_gan import mmd2


def test_generators_are_weighted_by_their_mmd_scores(make_engine) -> None:  # noqa: F811
    replies: dict[int, tuple[dict[str, torch.Tensor], float, int]] = {}

    def spy(delivery: Delivery) -> None:
        if delivery.direction == "up":
            config = delivery.message.config
            replies[delivery.client] = (dict(delivery.message.arrays), config["mmd"], config["num_examples"])

    engine = make_engine(
        "ifl-gan", rounds=1, clients=4, local_steps=2, temperature=0.01, **{"data.alpha": 0.2}, observer=spy
    )
    engine.run()
    order = sorted(replies)
    scores = [replies[c][1] for c in order]
    raw = [math.exp(-s / 0.01) for s in scores]
    expected = {c: w / sum(raw) for c, w in zip(order, raw, strict=True)}
    assert all(abs(engine.server.last_weights["generator"][c] - expected[c]) < 1e-12 for c in order)
    sizes = [replies[c][2] for c in order]
    assert max(abs(expected[c] - n / sum(sizes)) for c, n in zip(order, sizes, strict=True)) > 0.05
    for name in ("net.0.weight", "net.4.bias"):
        mean = sum(expected[c] * replies[c][0]["g." + name].double() for c in order)
        assert torch.allclose(engine.server.generator.state_dict()[name].double(), mean, atol=1e-6)
    # discriminators keep FedAvg's data-size weights
    d_mean = sum((n / sum(sizes)) * replies[c][0]["d.net.0.weight"].double() for c, n in zip(order, sizes, strict=True))
    assert torch.allclose(engine.server.discriminator.state_dict()["net.0.weight"].double(), d_mean, atol=1e-6)


def test_mmd_separates_matching_from_mismatched_samples() -> None:
    torch.manual_seed(0)
    x, y = torch.randn(64, 8) * 0.3, torch.randn(64, 8) * 0.3
    assert mmd2(x, y) < mmd2(x, y + 1.0)
