"""The one place where a run's epsilon is computed: ``dp-accounting``'s accountants on DP events.

Every mechanism of the registry that does its own accounting (client-level DP-FedAvg, GS-WGAN's sanitised
gradients, Private FL-GAN's noisy critic steps) releases Poisson-subsampled Gaussian steps, so
:func:`epsilon` takes exactly those four numbers, (noise multiplier ``z``, sampling rate ``q``, steps,
``delta``), and builds ``SelfComposed(PoissonSampled(q, Gaussian(z)), steps)``. A paper whose releases are
not all alike composes its own event (:func:`subsampled_gaussian` pieces in a ``ComposedDpEvent``) and asks
:func:`event_epsilon`. Opacus's DP-SGD keeps its own per-client accountant
(:mod:`~fedgen_registry.mechanisms.privacy.dp_sgd`), as Opacus does.

The RDP accountant is the default, as every ledger written so far used it; ``"pld"`` (privacy loss
distributions, tighter for many steps) is there for a paper or a user who asks for it.

For small ``z`` and large ``q`` the RDP accountant cannot evaluate its lowest orders and logs, through absl, a
"failed to converge ... Excluding this order" warning for each; the order is dropped from the minimum over
orders, which is the documented behaviour and leaves a valid bound. Those lines are silenced here, so they
do not flood a user's terminal once per ledger; any other warning of the library still shows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import dp_accounting
from dp_accounting.pld import pld_privacy_accountant
from dp_accounting.rdp import rdp_privacy_accountant

Method = Literal["rdp", "pld"]
_EXCLUDED_ORDER = "Excluding this order"


def subsampled_gaussian(noise_multiplier: float, sample_rate: float, steps: int) -> dp_accounting.DpEvent:
    """``steps`` releases of the Gaussian mechanism (std ``z`` times the sensitivity), each Poisson-sampled at ``q``."""
    event = dp_accounting.PoissonSampledDpEvent(sample_rate, dp_accounting.GaussianDpEvent(noise_multiplier))
    return dp_accounting.SelfComposedDpEvent(event, steps)


def epsilon(noise_multiplier: float, sample_rate: float, steps: int, delta: float, method: Method = "rdp") -> float:
    """Epsilon at ``delta`` after ``steps`` Poisson-subsampled Gaussian releases (0 before any, ``inf`` without noise)."""
    if steps == 0:
        return 0.0
    if noise_multiplier == 0:
        return float("inf")
    return event_epsilon(subsampled_gaussian(noise_multiplier, sample_rate, steps), delta, method)


def event_epsilon(event: dp_accounting.DpEvent, delta: float, method: Method = "rdp") -> float:
    """Epsilon at ``delta`` of any (composed) DP event, from a fresh accountant of the chosen method."""
    accountant: dp_accounting.PrivacyAccountant = (
        rdp_privacy_accountant.RdpAccountant() if method == "rdp" else pld_privacy_accountant.PLDAccountant()
    )
    with _without_excluded_order_warnings():
        accountant.compose(event)
        return float(accountant.get_epsilon(delta))


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
