"""FedDPGAN: every client's discriminator takes DP-SGD steps (Gaussian noise of std z*C really added to the
clipped sum), only the DP-trained networks are averaged, and privacy.json's epsilon agrees with an independent
accountant, with Opacus's own beside it."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from opacus.accountants import RDPAccountant
from runtime.accounting_reference import check_epsilon
from runtime.conftest import make_engine  # noqa: F401  (the fixture)
from runtime.settings import FAST_EVAL

from fedgen_registry.mechanisms.privacy import dp_sgd
from fedgen_registry.mechanisms.privacy.ledger import read_ledger
from fedgen_registry.runs.runner import run

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # Opacus: secure RNG off; full backward hooks
ONE_ROUND = {"rounds": 1, "clients": 2, "local_steps": 2}


def record_noise(engine: Any) -> list[torch.Tensor]:
    """Wrap every client's DP optimizer so each step records (noised sum) - (clipped sum): the noise it added."""
    residuals: list[torch.Tensor] = []
    for trainer in engine.algorithm.trainers.values():
        optimizer = trainer.private.optimizer
        original = optimizer.add_noise

        def add_noise(optimizer: Any = optimizer, original: Callable[[], None] = original) -> None:
            clipped = [p.summed_grad.detach().clone() for p in optimizer.params]
            original()
            residuals.append(
                torch.cat([(p.grad - c).flatten() for p, c in zip(optimizer.params, clipped, strict=True)])
            )

        optimizer.add_noise = add_noise
    return residuals


@pytest.mark.parametrize("noise", [0.0, 1.5])
def test_discriminator_steps_add_gaussian_noise_of_std_z_c(make_engine, noise: float) -> None:  # noqa: F811
    clip = 0.3
    engine = make_engine("feddpgan", **ONE_ROUND, **{"dp.noise_multiplier": noise, "dp.max_grad_norm": clip})
    residuals = record_noise(engine)
    engine.run()
    assert len(residuals) == 2 * 2  # two clients, two discriminator steps each
    for residual in residuals:
        if noise == 0:
            assert float(residual.abs().max()) == 0.0
        else:
            assert float(residual.std()) == pytest.approx(noise * clip, rel=0.05)


def test_the_server_averages_the_dp_trained_networks(make_engine) -> None:  # noqa: F811
    uploads: dict[int, dict[str, torch.Tensor]] = {}
    engine = make_engine(
        "feddpgan",
        **ONE_ROUND,
        observer=lambda d: uploads.__setitem__(d.client, dict(d.message.arrays)) if d.direction == "up" else None,
    )
    engine.run()
    for cid, arrays in uploads.items():  # what left the client is exactly its DP-trained discriminator
        held = engine.clients[cid].discriminator.state_dict()
        assert all(torch.equal(arrays["d." + k], v) for k, v in held.items())
    sizes = {cid: len(engine.algorithm.parts[cid]) for cid in uploads}
    mean = sum(sizes[c] / sum(sizes.values()) * uploads[c]["d.net.0.weight"].double() for c in uploads)
    assert torch.allclose(engine.server.discriminator.state_dict()["net.0.weight"].double(), mean, atol=1e-6)


def test_privacy_json_matches_a_fresh_opacus_accounting(tmp_path: Path) -> None:
    settings = {**FAST_EVAL, **ONE_ROUND, "rounds": 2, "dp.noise_multiplier": 0.8}
    summary = run("feddpgan", preset="smoke", out=tmp_path, quiet=True, **settings)
    ledger = read_ledger(tmp_path)
    assert ledger.mechanism == "dp-sgd" and ledger.level == "record" and ledger.steps == 2 * 2
    sizes = json.loads((tmp_path / "partition.json").read_text())["sizes"]
    opacus = []
    for cid, epsilon in ledger.per_client_epsilon.items():
        rate = 1 / math.ceil(sizes[int(cid)] / 32)  # Opacus's rate: 1 / batches of 32
        fresh = RDPAccountant()
        fresh.history = [(0.8, rate, 4)]
        opacus.append(fresh.get_epsilon(1e-5))
        check_epsilon(epsilon, 0.8, rate, 4, 1e-5)
        assert ledger.per_client_releases[cid] == (pytest.approx(rate), 4)
    assert ledger.epsilon == max(ledger.per_client_epsilon.values()) == summary["metrics"]["epsilon"]
    assert ledger.other_epsilons[dp_sgd.OPACUS] == pytest.approx(max(opacus), rel=1e-12)
