"""Robust aggregation: the rules agree with Flower's, and wrapped around FedAvg-GAN they resist a malicious client."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from flwr.server.strategy.aggregate import aggregate_krum, aggregate_median, aggregate_trimmed_avg

from fedgen_registry.adversaries.roles import with_adversaries
from fedgen_registry.federation.local import LocalEngine
from fedgen_registry.federation.protocol import Message
from fedgen_registry.mechanisms.robust import RobustConfig, krum, median, trimmed_mean, with_robust_aggregation
from fedgen_registry.registry import get_implementation
from fedgen_registry.runs.runner import build_config

SETTINGS = {
    "eval.samples": 64,
    "eval.kid_subsets": 2,
    "eval.kid_subset_size": 32,
    "rounds": 2,
    "clients": 5,
    "local_steps": 2,
}


def uploads(count: int, seed: int = 0) -> list[dict[str, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    return [
        {"a": torch.randn(3, 4, generator=generator), "b": torch.randn(5, generator=generator)} for _ in range(count)
    ]


def flower_form(arrays: list[dict[str, torch.Tensor]]) -> list[tuple[list[np.ndarray], int]]:
    return [([item["a"].numpy(), item["b"].numpy()], 10) for item in arrays]


@pytest.mark.parametrize("count", [5, 6])
def test_the_rules_agree_with_flowers(count: int) -> None:
    arrays = uploads(count)
    results = flower_form(arrays)
    expected = {
        "median": aggregate_median(results),
        "trimmed": aggregate_trimmed_avg(results, 0.2),
        "krum": aggregate_krum(results, num_malicious=1, to_keep=0),
        "multi-krum": aggregate_krum(results, num_malicious=1, to_keep=2),
    }
    ours = {
        "median": median(arrays),
        "trimmed": trimmed_mean(arrays, 0.2),
        "krum": krum(arrays, malicious=1),
        "multi-krum": krum(arrays, malicious=1, keep=2),
    }
    for rule, theirs in expected.items():
        for name, reference in zip(("a", "b"), theirs, strict=True):
            np.testing.assert_allclose(ours[rule][name].numpy(), reference, rtol=1e-6, atol=1e-6, err_msg=rule)


def test_trimming_everything_is_refused() -> None:
    with pytest.raises(ValueError, match="leaves nothing"):
        trimmed_mean(uploads(4), 0.5)


def inflate(message: Message, reply: Message) -> Message:
    """A malicious client's upload: its honest arrays times 1,000."""
    return Message(reply.message_type, {k: v * 1000 for k, v in reply.arrays.items()}, reply.config)


def final_generator_norm(tmp_path, name: str, *, malicious: bool, robust: RobustConfig | None) -> float:
    spec = get_implementation("fedavg-gan")
    algorithm = spec.target
    if malicious:
        algorithm = with_adversaries(algorithm, malicious={0: inflate})
    if robust is not None:
        algorithm = with_robust_aggregation(algorithm, robust)
    config = build_config(spec, "smoke", SETTINGS)
    engine = LocalEngine(algorithm(config, tmp_path / name), tmp_path / name, quiet=True)
    engine.run()
    generator = engine.server.inner.generator if robust is not None else engine.server.generator
    return float(torch.cat([p.detach().flatten() for p in generator.parameters()]).norm())


@pytest.mark.parametrize("rule", ["median", "trimmed-mean", "krum"])
def test_a_robust_rule_holds_against_a_malicious_client_where_fedavg_does_not(tmp_path, rule: str) -> None:
    honest = final_generator_norm(tmp_path, "honest", malicious=False, robust=None)
    attacked = final_generator_norm(tmp_path, "fedavg", malicious=True, robust=None)
    defended = final_generator_norm(tmp_path, rule, malicious=True, robust=RobustConfig(rule=rule))
    assert attacked > 20 * honest, "the attack should wreck plain FedAvg"
    assert defended < 2 * honest, f"{rule} should keep the generator near the honest one"


def test_only_mean_based_strategies_can_be_made_robust() -> None:
    with pytest.raises(ValueError, match="weighted_mean_upload is False"):
        with_robust_aggregation(get_implementation("md-gan").target, RobustConfig())
