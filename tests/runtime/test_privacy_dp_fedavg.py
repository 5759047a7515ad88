"""Client-level DP-FedAvg: clipping to C, Gaussian noise of std z*C on the sum, and dp-accounting's epsilon."""

from __future__ import annotations

import dp_accounting
import numpy as np
import pytest
import torch
from dp_accounting.rdp import rdp_privacy_accountant

from fedgen_registry.mechanisms.privacy import accounting, dp_fedavg
from fedgen_registry.mechanisms.privacy.dp_fedavg import ClientDPConfig, clip, noisy_average, poisson_sample
from runtime.accounting_reference import check_epsilon


def test_clip_scales_long_updates_to_c_and_keeps_short_ones() -> None:
    long = torch.full((100,), 0.5, dtype=torch.float64)  # norm 5
    clipped, norm = clip(long, 0.1)
    assert norm == pytest.approx(5.0)
    assert float(torch.linalg.vector_norm(clipped)) == pytest.approx(0.1)
    assert torch.allclose(clipped / 0.1, long / 5.0)  # same direction
    short = torch.full((100,), 0.001, dtype=torch.float64)
    assert torch.equal(clip(short, 0.1)[0], short)


def test_noise_is_seeded_gaussian_with_std_z_c_over_the_expected_clients() -> None:
    z, c, expected = 1.3, 0.2, 10.0
    total = torch.zeros(200_000, dtype=torch.float64)
    draws = noisy_average(total, c, z, expected, torch.Generator().manual_seed(0))
    assert float(draws.std()) * expected == pytest.approx(z * c, rel=0.01)
    assert abs(float(draws.mean())) < 4 * z * c / expected / len(draws) ** 0.5
    assert torch.equal(draws, noisy_average(total, c, z, expected, torch.Generator().manual_seed(0)))
    assert not torch.equal(draws, noisy_average(total, c, z, expected, torch.Generator().manual_seed(1)))
    signal = torch.ones(5, dtype=torch.float64)
    assert torch.equal(noisy_average(signal, c, 0.0, expected, torch.Generator()), signal / expected)


def fresh_rdp(z: float, q: float, rounds: int, delta: float) -> float:
    accountant = rdp_privacy_accountant.RdpAccountant()
    accountant.compose(dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(z)), rounds)
    return accountant.get_epsilon(delta)


def test_ledger_epsilon_is_the_tight_accountants_and_falls_as_noise_grows() -> None:
    epsilons = []
    for z in (0.8, 1.0, 2.0):
        config = ClientDPConfig(noise_multiplier=z, clip_norm=0.5, delta=1e-5)
        ledger = dp_fedavg.ledger(config, clients_per_round=10, num_clients=100, rounds=50, secure_aggregation=None)
        check_epsilon(ledger.epsilon, z, 0.1, 50, 1e-5)  # PLD, checked by another library's PRV accountant
        rdp = ledger.other_epsilons[accounting.RDP]
        assert rdp == pytest.approx(fresh_rdp(z, 0.1, 50, 1e-5), rel=1e-9) and rdp > ledger.epsilon
        assert (ledger.sample_rate, ledger.steps, ledger.clipping_norm) == (0.1, 50, 0.5)
        assert "approximation" in ledger.assumptions[0]  # fixed-size sampling is stated as such
        epsilons.append(ledger.epsilon)
    assert epsilons[0] > epsilons[1] > epsilons[2] > 0
    assert accounting.epsilon(0.0, 0.1, 5, 1e-5) == float("inf") and accounting.epsilon(1.0, 0.1, 0, 1e-5) == 0.0


def test_poisson_sampling_takes_each_client_with_probability_q() -> None:
    rng = np.random.default_rng(0)
    counts = np.zeros(50)
    for _ in range(2000):
        counts[poisson_sample(list(range(50)), 0.2, rng)] += 1
    assert counts.mean() / 2000 == pytest.approx(0.2, rel=0.03)
    assert counts.min() > 0
