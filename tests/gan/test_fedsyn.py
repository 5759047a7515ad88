"""FedSyn: what a participant shares is its trained weights plus Laplace noise of the configured scale, the
update is L1-clipped when a bound is set, and privacy.json composes the per-round epsilon Delta / b."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from runtime.conftest import make_engine  # noqa: F401  (the fixture)
from runtime.settings import FAST_EVAL

from fedgen_registry.federation.local import Delivery
from fedgen_registry.mechanisms.privacy.updates import flatten
from fedgen_registry.runs.runner import run

ONE_ROUND = {"rounds": 1, "clients": 2, "local_steps": 2}


def uploads(build: Any, run_dir: Path, **settings: Any) -> tuple[Any, dict[int, torch.Tensor], dict[int, torch.Tensor]]:
    """(engine, what each client shared, what it was sent) after one round."""
    seen: list[Delivery] = []
    engine = build("fedsyn", **ONE_ROUND, **settings, run_dir=run_dir, observer=seen.append)
    engine.run()
    shared = {d.client: flatten(d.message.arrays) for d in seen if d.direction == "up"}
    sent = {d.client: flatten(d.message.arrays) for d in seen if d.direction == "down"}
    return engine, shared, sent


def test_shared_parameters_carry_laplace_noise_of_scale_b(make_engine, tmp_path: Path) -> None:  # noqa: F811
    scale = 0.02
    clean_engine, clean, _ = uploads(make_engine, tmp_path / "clean", **{"laplace.scale": 0.0})
    _, noisy, _ = uploads(make_engine, tmp_path / "noisy", **{"laplace.scale": scale})
    for cid, weights in clean.items():  # training is the same; the noise is drawn after it
        held = clean_engine.clients[cid]
        assert torch.allclose(
            weights, flatten({**_prefixed(held.generator, "g."), **_prefixed(held.discriminator, "d.")})
        )
        noise = noisy[cid] - weights
        assert float(noise.abs().mean()) == pytest.approx(scale, rel=0.03)  # E|Lap(b)| = b
        assert float(noise.std()) == pytest.approx(2**0.5 * scale, rel=0.03)  # Var = 2 b^2
        kurtosis = float(((noise - noise.mean()) ** 4).mean() / noise.var() ** 2)
        assert kurtosis == pytest.approx(6.0, rel=0.15)  # Laplace, not Gaussian (3)


def test_updates_are_l1_clipped_before_the_noise(make_engine, tmp_path: Path) -> None:  # noqa: F811
    _, shared, sent = uploads(make_engine, tmp_path, **{"laplace.scale": 0.0, "laplace.l1_clip": 0.5})
    for cid in shared:
        assert float((shared[cid] - sent[cid]).abs().sum()) == pytest.approx(0.5, rel=1e-4)


def test_privacy_json_composes_delta_over_b(tmp_path: Path) -> None:
    settings = {**FAST_EVAL, **ONE_ROUND, "rounds": 3, "laplace.scale": 0.01, "laplace.l1_clip": 0.05}
    summary = run("fedsyn", preset="smoke", out=tmp_path, quiet=True, **settings)
    ledger = json.loads((tmp_path / "privacy.json").read_text())
    assert ledger["mechanism"] == "laplace-local" and ledger["level"] == "client" and ledger["delta"] == 0.0
    assert ledger["epsilon"] == pytest.approx(3 * 0.05 / 0.01) == summary["metrics"]["epsilon"]


def _prefixed(module: torch.nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    return {prefix + name: value for name, value in module.state_dict().items()}
