"""Client-level DP-FedAvg (McMahan, Ramage, Talwar and Zhang, ICLR 2018), accounted with ``dp-accounting``.

The mechanism, on the update vectors of the clients that took part in a round:

1. clip each client's update to L2 norm ``C`` (:func:`clip`), so one client moves the sum by at most ``C``;
2. sum the clipped updates (in the clear, or under secure aggregation);
3. add Gaussian noise of standard deviation ``z * C`` to the sum and divide by the *expected* number of
   clients ``q * N`` (:func:`noisy_average`), a fixed denominator, so the average leaks nothing more
   through how many clients answered.

One round is one Poisson-subsampled Gaussian mechanism; the rounds compose. :func:`epsilon` asks the RDP
accountant of ``dp-accounting`` for ``SelfComposed(PoissonSampled(q, Gaussian(z)), rounds)`` at ``delta``.

**Sampling assumption.** The accountant assumes that each client takes part in each round independently
with probability ``q = clients_per_round / num_clients`` (Poisson sampling). The engine's default
:meth:`~fedgen_registry.federation.protocol.Server.sample` draws exactly ``clients_per_round`` clients
without replacement (as the paper's code does); for that sampling the Poisson bound is the customary
approximation, not a proof. A server that needs the bound to hold exactly samples with
:func:`poisson_sample` instead. Either way the ledger says which one ran.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import version
from typing import Literal

import dp_accounting
import numpy as np
import torch
from dp_accounting.rdp import rdp_privacy_accountant
from pydantic import BaseModel, ConfigDict, Field

from fedgen_registry.mechanisms.privacy.ledger import PrivacyLedger

ACCOUNTANT = (
    f"dp-accounting {version('dp-accounting')} RdpAccountant: SelfComposed(PoissonSampled(q, Gaussian(z)), rounds), "
    "add/remove-one neighbouring clients"
)


class ClientDPConfig(BaseModel):
    """User-level DP-FedAvg settings (``enabled=False``: plain averaging of unclipped updates, no noise)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    clip_norm: float = Field(0.1, gt=0, description="C: L2 bound on one client's whole update.")
    noise_multiplier: float = Field(0.01, ge=0, description="z: the sum's noise std is z * C.")
    delta: float = Field(1e-5, gt=0, lt=1, description="Target delta of the reported (epsilon, delta).")
    sampling: Literal["fixed", "poisson"] = Field(
        "fixed",
        description="fixed: exactly clients_per_round clients per round (the accountant's Poisson bound is an "
        "approximation); poisson: each client independently with probability q (the bound holds as stated).",
    )


def clip(update: torch.Tensor, clip_norm: float) -> tuple[torch.Tensor, float]:
    """``update * min(1, C / ||update||)`` and the norm before clipping."""
    norm = float(torch.linalg.vector_norm(update))
    return update * min(1.0, clip_norm / norm) if norm > 0 else update.clone(), norm


def noisy_average(
    total: torch.Tensor, clip_norm: float, noise_multiplier: float, expected_clients: float, generator: torch.Generator
) -> torch.Tensor:
    """``(total + N(0, (z C)^2 I)) / expected_clients``: the Gaussian mechanism on the sum, then a fixed denominator."""
    noise = torch.randn(total.shape, generator=generator, dtype=torch.float64) * (noise_multiplier * clip_norm)
    return (total.to(torch.float64) + noise) / expected_clients


def poisson_sample(available: Sequence[int], rate: float, rng: np.random.Generator) -> list[int]:
    """Each client independently with probability ``rate`` (the sampling the accountant assumes); may be empty."""
    return [cid for cid, draw in zip(available, rng.random(len(available)), strict=True) if draw < rate]


def epsilon(noise_multiplier: float, sample_rate: float, rounds: int, delta: float) -> float:
    """Epsilon after ``rounds`` Poisson-subsampled Gaussian releases (RDP accountant; ``inf`` without noise)."""
    if rounds == 0:
        return 0.0
    if noise_multiplier == 0:
        return float("inf")
    accountant = rdp_privacy_accountant.RdpAccountant()
    event = dp_accounting.PoissonSampledDpEvent(sample_rate, dp_accounting.GaussianDpEvent(noise_multiplier))
    accountant.compose(dp_accounting.SelfComposedDpEvent(event, rounds))
    return float(accountant.get_epsilon(delta))


def sampling_note(config: ClientDPConfig, clients_per_round: int, num_clients: int) -> str:
    """The sampling assumption in words, for the ledger."""
    q = clients_per_round / num_clients
    if config.sampling == "poisson":
        return (
            f"Clients were Poisson-sampled (each with probability q = {clients_per_round}/{num_clients} = {q:.4g} "
            "per round), as the accountant assumes; the denominator is the expected count q * N."
        )
    return (
        f"Exactly {clients_per_round} of {num_clients} clients were sampled per round without replacement; the "
        f"accountant assumes Poisson sampling with q = {q:.4g}, the customary approximation for fixed-size sampling "
        "(not a proof for it)."
    )


def ledger(
    config: ClientDPConfig, clients_per_round: int, num_clients: int, rounds: int, secure_aggregation: str | None
) -> PrivacyLedger:
    """The ``privacy.json`` of a DP-FedAvg run after ``rounds`` noisy releases."""
    rate = clients_per_round / num_clients
    who_clips = (
        "Clients clip their own updates before masking; under secure aggregation the server cannot check it."
        if secure_aggregation
        else "The server sees each update and clips it itself (the trusted aggregator of the DP-FedAvg setting)."
    )
    return PrivacyLedger(
        mechanism="dp-fedavg",
        level="client",
        noise_multiplier=config.noise_multiplier,
        clipping_norm=config.clip_norm,
        sample_rate=rate,
        steps=rounds,
        steps_unit="rounds",
        epsilon=epsilon(config.noise_multiplier, rate, rounds, config.delta),
        delta=config.delta,
        accountant=ACCOUNTANT,
        secure_aggregation=secure_aggregation,
        assumptions=[
            sampling_note(config, clients_per_round, num_clients),
            who_clips,
            "The server adds the noise honestly (trusted aggregator); only the noised average is released.",
            "The noise is drawn from a generator seeded from the run's seed, so runs are reproducible; whoever knows "
            "the seed can remove it, so a deployment needs a secret, cryptographically secure source.",
            "Rounds retried after a missed quorum released nothing and are not counted; drop-outs after sampling "
            "only remove contributions, which the bound already covers.",
        ],
    )
