"""GS-WGAN: only the gradient a critic passes back to the generator is sanitised (clipped per sample, Gaussian
noise of std 2*C*sigma); critics train noise-free and never leave their clients; privacy.json is a fresh
accounting of the code's composition."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dp_accounting
import pytest
import torch
from dp_accounting.rdp import rdp_privacy_accountant
from runtime.accounting_reference import check_epsilon
from runtime.conftest import make_engine  # noqa: F401  (the fixture)
from runtime.settings import FAST_EVAL

from fedgen_registry.federation.local import Delivery
from fedgen_registry.mechanisms.privacy import accounting
from fedgen_registry.mechanisms.privacy.ledger import read_ledger
from fedgen_registry.runs.runner import run

ONE_ROUND = {"rounds": 1, "clients": 3, "clients_per_round": 3, "critic_iters": 2, "optim.batch_size": 64}


def one_round(
    build: Any, noise: float, clip: float, run_dir: Path | None = None
) -> tuple[Any, dict[int, torch.Tensor], list[Delivery]]:
    seen: list[Delivery] = []
    engine = build(
        "gs-wgan",
        **ONE_ROUND,
        **{"sanitize.noise_multiplier": noise, "sanitize.clip": clip},
        run_dir=run_dir,
        observer=seen.append,
    )
    engine.run()
    return engine, {d.client: d.message.arrays["gradient"] for d in seen if d.direction == "up"}, seen


def test_only_the_sanitised_gradient_leaves_a_client(make_engine) -> None:  # noqa: F811
    engine, _, seen = one_round(make_engine, 1.0, 1.0)
    assert all(set(d.message.arrays) == {"gradient"} for d in seen if d.direction == "up")
    parameters = [*engine.server.generator.state_dict().values()]
    parameters += [v for c in engine.clients.values() for v in c.critic.state_dict().values()]
    for delivery in seen:
        for array in delivery.message.arrays.values():
            assert not any(array.shape == p.shape and torch.equal(array, p) for p in parameters)


def test_gradients_are_clipped_per_sample_and_noised_with_std_2_c_sigma(make_engine, tmp_path: Path) -> None:  # noqa: F811
    clip, batch = 1e-4, 64
    clean, clean_gradients, _ = one_round(make_engine, 0.0, clip, tmp_path / "a")
    noisy, noisy_gradients, _ = one_round(make_engine, 0.8, clip, tmp_path / "b")
    for cid, gradient in clean_gradients.items():
        norms = (gradient * batch).norm(dim=1)  # every raw per-sample gradient was longer than C: all sit at C
        assert torch.allclose(norms, torch.full_like(norms, clip), rtol=1e-4)
        noise = (noisy_gradients[cid] - gradient) * batch
        assert float(noise.std()) == pytest.approx(2 * clip * 0.8, rel=0.05)
    for cid in clean.clients:  # the critics themselves trained without any noise
        for name, value in clean.clients[cid].critic.state_dict().items():
            assert torch.equal(value, noisy.clients[cid].critic.state_dict()[name])
    changed = [
        not torch.equal(a, b)
        for a, b in zip(
            clean.server.generator.state_dict().values(), noisy.server.generator.state_dict().values(), strict=True
        )
    ]
    assert any(changed)  # while the generator felt the noise


def test_privacy_json_matches_a_fresh_accounting(tmp_path: Path) -> None:
    settings = {**FAST_EVAL, "rounds": 3, "clients": 4, "critic_iters": 1, "sanitize.noise_multiplier": 1.3}
    summary = run("gs-wgan", preset="smoke", out=tmp_path, quiet=True, **settings)
    ledger = read_ledger(tmp_path)
    accountant = rdp_privacy_accountant.RdpAccountant()
    event = dp_accounting.PoissonSampledDpEvent(0.25, dp_accounting.GaussianDpEvent(1.3))
    accountant.compose(dp_accounting.SelfComposedDpEvent(event, 3 * 32))
    assert (ledger.sample_rate, ledger.steps, ledger.noise_multiplier) == (0.25, 96, 1.3)
    assert ledger.other_epsilons[accounting.RDP] == pytest.approx(accountant.get_epsilon(1e-5), rel=1e-12)
    assert ledger.epsilon == summary["metrics"]["epsilon"]
    check_epsilon(ledger.epsilon, 1.3, 0.25, 96, 1e-5)
