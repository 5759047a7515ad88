"""DP-FedAvg-GAN's mechanism: the generator never leaves the server, client updates are clipped, the server's
discriminator is the clipped mean plus Gaussian noise, secure aggregation changes nothing but what the server
sees, and every run writes a consistent privacy.json."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import dp_accounting
import pytest
import torch
from dp_accounting.rdp import rdp_privacy_accountant

from fedgen_registry.federation.local import Delivery
from fedgen_registry.federation.protocol import Message
from fedgen_registry.mechanisms.privacy import accounting
from fedgen_registry.mechanisms.privacy.ledger import read_ledger
from fedgen_registry.mechanisms.privacy.updates import flatten
from fedgen_registry.models.gan import MLPGenerator
from fedgen_registry.runs.runner import run
from runtime.accounting_reference import check_epsilon
from runtime.settings import FAST_EVAL

ONE_ROUND = {"rounds": 1, "clients": 6, "clients_per_round": 4, "disc_steps": 2}


def deltas(replies: list[Delivery]) -> dict[int, torch.Tensor]:
    return {
        d.client: flatten({k: v for k, v in d.message.arrays.items() if k.startswith("delta.")})
        for d in replies
        if d.stage == "train" and d.direction == "up"
    }


def discriminator_vector(engine: Any) -> torch.Tensor:
    return flatten(engine.server.inner.discriminator.state_dict())


@pytest.mark.parametrize("secure", [False, True])
def test_no_generator_parameter_ever_travels(make_engine: Callable[..., Any], secure: bool) -> None:
    leaks: list[str] = []
    engine = None

    def spy(delivery: Delivery) -> None:
        for name, array in delivery.message.arrays.items():
            for parameter in engine.server.inner.generator.state_dict().values():
                if array.shape == parameter.shape and torch.equal(array, parameter):
                    leaks.append(f"round {delivery.server_round} {delivery.direction} {name}")
            if name.startswith("g."):
                leaks.append(name)

    engine = make_engine(
        "dp-fedavg-gan", rounds=2, clients=4, clients_per_round=4, secure_aggregation=secure, observer=spy
    )
    engine.run()
    assert not leaks
    assert not any(isinstance(v, MLPGenerator) for client in engine.clients.values() for v in vars(client).values())


def test_every_client_update_is_clipped_to_c(make_engine: Callable[..., Any]) -> None:
    seen: list[Delivery] = []
    engine = make_engine("dp-fedavg-gan", **ONE_ROUND, **{"dp.clip_norm": 1e-3}, observer=seen.append)
    engine.run()
    norms = [float(torch.linalg.vector_norm(v)) for v in deltas(seen).values()]
    assert len(norms) == 4
    assert norms == pytest.approx([1e-3] * 4, rel=1e-5)  # every raw update was longer, so each sits exactly at C


@pytest.mark.parametrize("noise", [0.0, 0.5])
def test_the_server_discriminator_is_the_clipped_mean_plus_noise_of_std_z_c(
    make_engine: Callable[..., Any], noise: float
) -> None:
    seen: list[Delivery] = []
    clip = 0.2
    engine = make_engine(
        "dp-fedavg-gan", **ONE_ROUND, **{"dp.clip_norm": clip, "dp.noise_multiplier": noise}, observer=seen.append
    )
    before = discriminator_vector(engine)
    engine.run()
    plain_mean = sum(deltas(seen).values()) / 4
    residual = (discriminator_vector(engine) - before - plain_mean) * 4  # the noise added to the sum
    if noise == 0:
        assert float(residual.abs().max()) < 1e-5  # float32 weights: only rounding is left
    else:
        assert float(residual.std()) == pytest.approx(noise * clip, rel=0.05)
        assert abs(float(residual.mean())) < 5 * noise * clip / residual.numel() ** 0.5


def test_secure_aggregation_hides_updates_yet_gives_the_same_discriminator(
    make_engine: Callable[..., Any], tmp_path: Path
) -> None:
    results = {}
    for secure in (False, True):
        seen: list[Delivery] = []
        settings = {**ONE_ROUND, "clients": 4}  # all four sampled, so client 2 surely takes part
        engine = make_engine(
            "dp-fedavg-gan", **settings, secure_aggregation=secure, run_dir=tmp_path / str(secure), observer=seen.append
        )
        crash_on_train(engine, client=2)
        engine.run()
        results[secure] = discriminator_vector(engine)
        uploads = [d for d in seen if d.stage == "train" and d.direction == "up"]
        assert len(uploads) == 3  # one sampled client crashed after the key exchange
        if secure:
            assert all(set(d.message.arrays) == {"masked"} for d in uploads)
            assert any(d.stage == "secagg.unmask" and d.direction == "up" for d in seen)  # survivors revealed seeds
    assert torch.allclose(results[True], results[False], rtol=0, atol=1e-6)


def test_privacy_json_matches_a_fresh_accounting(tmp_path: Path) -> None:
    settings = {**FAST_EVAL, "rounds": 2, "dp.noise_multiplier": 0.7, "dp.sampling": "poisson"}
    summary = run("dp-fedavg-gan", preset="smoke", out=tmp_path / "dp", quiet=True, **settings)
    ledger = read_ledger(tmp_path / "dp")
    accountant = rdp_privacy_accountant.RdpAccountant()
    accountant.compose(dp_accounting.PoissonSampledDpEvent(0.5, dp_accounting.GaussianDpEvent(0.7)), 2)
    assert ledger.mechanism == "dp-fedavg" and ledger.level == "client" and ledger.steps == 2
    assert (ledger.noise_multiplier, ledger.clipping_norm, ledger.sample_rate) == (0.7, 1.0, 0.5)
    assert ledger.epsilon == summary["metrics"]["epsilon"] and "PLDAccountant" in ledger.accountant
    check_epsilon(ledger.epsilon, 0.7, 0.5, 2, 1e-5)
    assert ledger.other_epsilons[accounting.RDP] == pytest.approx(accountant.get_epsilon(1e-5), rel=1e-9)
    assert ledger.assumptions[0].startswith("Clients were Poisson-sampled")
    run(
        "dp-fedavg-gan",
        preset="smoke",
        out=tmp_path / "off",
        quiet=True,
        **{**FAST_EVAL, "rounds": 1, "dp.enabled": False},
    )
    assert read_ledger(tmp_path / "off").mechanism == "none"


def crash_on_train(engine: Any, client: int) -> None:
    original = engine.clients[client].handle

    def handle(message: Message) -> Message:
        if message.message_type.startswith("train"):
            raise RuntimeError("simulated crash after the key exchange")
        return original(message)

    engine.clients[client].handle = handle
