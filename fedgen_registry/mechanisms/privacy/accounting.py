"""The one place where a run's epsilon is computed: ``dp-accounting``'s accountants on DP events.

Every mechanism of the registry that does its own accounting (client-level DP-FedAvg, GS-WGAN's sanitised
gradients, Private FL-GAN's noisy critic steps) releases Poisson-subsampled Gaussian steps, so
:func:`epsilon` takes exactly those four numbers, (noise multiplier ``z``, sampling rate ``q``, steps,
``delta``), and builds ``SelfComposed(PoissonSampled(q, Gaussian(z)), steps)``. A paper whose releases are
not all alike composes its own event (:func:`subsampled_gaussian` pieces in a ``ComposedDpEvent``) and asks
:func:`event_epsilon`. Opacus's DP-SGD keeps its own per-client accountant to train with
(:mod:`~fedgen_registry.mechanisms.privacy.dp_sgd`); its ledger's headline is still this module's, from each
client's (q, steps), with Opacus's own RDP epsilon beside it.

The headline epsilon is the privacy-loss-distribution accountant's (``"pld"``), the tight one; the RDP
accountant's bound for the same releases stands beside it (:func:`guarantee`, :func:`per_client`), so a reader
sees how much the choice of accountant moves the number (on the site's ledgers RDP gives 652 where PLD gives
317, 12,854 where it gives 9,243). PLD discretises the privacy loss; its grid is chosen from the RDP bound
(:func:`_pld_interval`) so that a void guarantee of thousands does not take a minute to compute, and the
estimate stays pessimistic (an upper bound) either way.

For small ``z`` and large ``q`` the RDP accountant cannot evaluate its lowest orders and logs, through absl, a
"failed to converge ... Excluding this order" warning for each; the order is dropped from the minimum over
orders, which is the documented behaviour and leaves a valid bound. Those lines are silenced here, so they
do not flood a user's terminal once per ledger; any other warning of the library still shows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib.metadata import version
from typing import Literal, NamedTuple

import dp_accounting
from dp_accounting.pld import pld_privacy_accountant
from dp_accounting.rdp import rdp_privacy_accountant

Method = Literal["rdp", "pld"]
_EXCLUDED_ORDER = "Excluding this order"
HEADLINE = f"dp-accounting {version('dp-accounting')} PLDAccountant"
"""The accountant every ledger's headline epsilon comes from; ledgers name it, with the event it composed."""
RDP = "dp-accounting RDP"
"""The key of the RDP bound among a ledger's ``other_epsilons``."""


class Guarantee(NamedTuple):
    """The headline (PLD) epsilon of some releases, and the same releases under the other accountants, by name."""

    epsilon: float
    others: dict[str, float]


def subsampled_gaussian(noise_multiplier: float, sample_rate: float, steps: int) -> dp_accounting.DpEvent:
    """``steps`` releases of the Gaussian mechanism (std ``z`` times the sensitivity), each Poisson-sampled at ``q``."""
    event = dp_accounting.PoissonSampledDpEvent(sample_rate, dp_accounting.GaussianDpEvent(noise_multiplier))
    return dp_accounting.SelfComposedDpEvent(event, steps)


def epsilon(noise_multiplier: float, sample_rate: float, steps: int, delta: float, method: Method = "pld") -> float:
    """Epsilon at ``delta`` after ``steps`` Poisson-subsampled Gaussian releases (0 before any, ``inf`` without noise)."""
    return guarantee(noise_multiplier, sample_rate, steps, delta, method == "pld").epsilon


def guarantee(noise_multiplier: float, sample_rate: float, steps: int, delta: float, tight: bool = True) -> Guarantee:
    """The PLD epsilon of ``steps`` Poisson-subsampled Gaussian releases, with the RDP bound beside it
    (``tight=False``: the RDP bound as the headline, and nothing beside)."""
    if steps == 0 or noise_multiplier == 0:
        value = 0.0 if steps == 0 else float("inf")
        return Guarantee(value, {RDP: value} if tight else {})
    return event_guarantee(subsampled_gaussian(noise_multiplier, sample_rate, steps), delta, tight)


def event_epsilon(event: dp_accounting.DpEvent, delta: float, method: Method = "pld") -> float:
    """Epsilon at ``delta`` of any (composed) DP event, from fresh accountants of the chosen method."""
    return event_guarantee(event, delta, method == "pld").epsilon


def event_guarantee(event: dp_accounting.DpEvent, delta: float, tight: bool = True) -> Guarantee:
    """PLD's epsilon of ``event`` with RDP's beside it (the RDP bound also sets PLD's grid); RDP alone if not ``tight``."""
    with _without_excluded_order_warnings():
        rdp = rdp_privacy_accountant.RdpAccountant()
        rdp.compose(event)
        bound = float(rdp.get_epsilon(delta))
        if not tight:
            return Guarantee(bound, {})
        if bound == float("inf"):
            return Guarantee(bound, {RDP: bound})
        pld = pld_privacy_accountant.PLDAccountant(value_discretization_interval=_pld_interval(bound))
        pld.compose(event)
        return Guarantee(float(pld.get_epsilon(delta)), {RDP: bound})


def per_client(
    noise_multiplier: float, releases: Mapping[str, tuple[float, int]], delta: float
) -> tuple[dict[str, float], dict[str, float]]:
    """Record-level DP with one accountant per client: each client's PLD epsilon from its (sample rate, steps),
    and the worst client's epsilon under each other accountant."""
    guarantees = {cid: guarantee(noise_multiplier, q, steps, delta) for cid, (q, steps) in releases.items()}
    names = {name for g in guarantees.values() for name in g.others}
    worst = {name: max(g.others[name] for g in guarantees.values()) for name in sorted(names)}
    return {cid: g.epsilon for cid, g in guarantees.items()}, worst


def _pld_interval(rdp_epsilon: float) -> float:
    """PLD's grid spacing: the library's 1e-4 up to an RDP bound of 10, then 1e-5 of the bound, at most 1e-2.

    Measured against the 1e-4 grid: z = 0.05, q = 0.5, 60 steps gives 9242.52 at 1e-3 (5 s) and 9242.52 at 1e-2
    (0.4 s) against 79 s at 1e-4; z = 0.5, q = 1/12, 150 steps gives 33.054 at 1e-3 and 33.056 at 1e-2.
    """
    return min(1e-2, max(1e-4, 1e-5 * rdp_epsilon))


class _DropExcludedOrders(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return _EXCLUDED_ORDER not in record.getMessage()


@contextmanager
def _without_excluded_order_warnings() -> Iterator[None]:
    """Drop the RDP accountant's per-order convergence warnings on the absl logger, only for this call."""
    logger, dropper = logging.getLogger("absl"), _DropExcludedOrders()
    logger.addFilter(dropper)
    try:
        yield
    finally:
        logger.removeFilter(dropper)
