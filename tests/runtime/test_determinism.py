"""Same seed, same machine: the same history, parameters and metrics, bit for bit; another seed differs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from fedgen_registry.runs.runner import run
from runtime.settings import FAST_EVAL


def run_twice_and_once_more(implementation_id: str, tmp_path: Path, **settings) -> list[tuple[dict, list, dict]]:
    results = []
    for folder, seed in (("a", 3), ("b", 3), ("c", 4)):
        out = tmp_path / folder
        summary = run(implementation_id, preset="smoke", out=out, quiet=True, seed=seed, **settings, **FAST_EVAL)
        history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
        for record in history:
            del record["seconds"]  # wall time is the one field allowed to differ
        state = torch.load(out / "checkpoints" / "last.pt", weights_only=True)["state"]
        assert json.loads((out / "metrics.json").read_text()) == summary["metrics"]
        results.append((summary["metrics"], history, state))
    return results


def assert_same_state(a, b) -> None:
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_same_state(a[key], b[key])
    elif isinstance(a, list | tuple):
        for x, y in zip(a, b, strict=True):
            assert_same_state(x, y)
    else:
        assert a == b


@pytest.mark.parametrize(
    ("implementation_id", "settings"),
    [("fedavg-gan", {"rounds": 3, "client_failure_rate": 0.2}), ("md-gan", {"rounds": 4, "swap_every": 2})],
)
def test_same_seed_is_bit_identical_and_another_seed_is_not(implementation_id, settings, tmp_path) -> None:
    (metrics_a, history_a, state_a), (metrics_b, history_b, state_b), (metrics_c, _, state_c) = run_twice_and_once_more(
        implementation_id, tmp_path, **settings
    )
    assert metrics_a == metrics_b and history_a == history_b
    assert_same_state(state_a, state_b)
    assert metrics_c != metrics_a
    generator = state_a["server"]["generator"]["net.0.weight"]
    assert not torch.equal(generator, state_c["server"]["generator"]["net.0.weight"])
