"""An accountant written apart from the registry's: the tests recompute ledgers with it.

The registry's headline epsilon is dp-accounting's PLD accountant. Opacus's PRV accountant (Gopi, Lee and
Wutschitz 2021) is a tight numerical accountant of its own code, so agreement between the two within 1% checks
the headline without re-running the code that wrote it. PRV cannot evaluate a very weak noise (z = 0.05 returns
``inf``); there :func:`check_epsilon` holds the headline to dp-accounting's RDP bound instead, which PLD must not
exceed.
"""

from __future__ import annotations

import math
import warnings

from fedgen_registry.mechanisms.privacy import accounting


def independent_epsilon(
    noise_multiplier: float, sample_rate: float, steps: int, delta: float, eps_error: float = 0.01
) -> float:
    """Opacus PRV's epsilon for ``steps`` Poisson-subsampled Gaussian releases, to within ``eps_error`` (``inf``
    where it cannot evaluate)."""
    from opacus.accountants import PRVAccountant

    prv = PRVAccountant()
    prv.history = [(noise_multiplier, sample_rate, steps)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(prv.get_epsilon(delta, eps_error=eps_error))


def check_epsilon(epsilon: float, noise_multiplier: float, sample_rate: float, steps: int, delta: float) -> None:
    """``epsilon`` is the PLD epsilon of these releases: PRV within 1%, or (where PRV gives up) at most RDP's bound."""
    error = max(0.01, 0.002 * epsilon)  # PRV's grid, fine enough for 1% and fast for a void guarantee of thousands
    reference = independent_epsilon(noise_multiplier, sample_rate, steps, delta, error)
    if math.isfinite(reference):
        assert abs(epsilon - reference) <= 0.01 * reference, (epsilon, reference)
    else:
        assert epsilon <= accounting.epsilon(noise_multiplier, sample_rate, steps, delta, "rdp")
