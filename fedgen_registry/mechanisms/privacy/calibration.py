"""Noise for a target epsilon: what a DP algorithm will release, and the smallest noise that keeps it under E.

As Opacus's ``make_private_with_epsilon`` does for DP-SGD, but for any registered DP algorithm: the algorithm
states its :class:`ReleasePlan` (which setting is the noise multiplier, and the sampling rate and number of
Poisson-subsampled Gaussian releases its most exposed unit, a client or a record, can undergo in the configured
run), and :func:`noise_for` finds the noise multiplier at which the headline accountant
(:mod:`~fedgen_registry.mechanisms.privacy.accounting`, PLD) gives at most the target. Where participation is
random the plan takes the worst case (a client sampled every round), so the run's ledger reports at most the
target, and less when the client sat rounds out.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from fedgen_registry.mechanisms.privacy import accounting

_BISECTIONS = 14
"""PLD evaluations after the RDP bracket: the noise is found to within 2^-14 of the bracket's width."""


class ReleasePlan(BaseModel):
    """The releases of a configured run, at their worst case, and the setting that sets their noise."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    setting: str = Field(description="Dotted setting of the noise multiplier, e.g. dp.noise_multiplier.")
    sample_rate: float = Field(gt=0, le=1)
    steps: int = Field(ge=1)
    delta: float = Field(gt=0, lt=1)
    worst_case: str = Field(description="Whose releases these are, in words (e.g. 'a client sampled every round').")


@runtime_checkable
class Calibratable(Protocol):
    """A DP algorithm that can say, once built on its data and before training, what it will release."""

    def release_plan(self) -> ReleasePlan: ...


def noise_for(target_epsilon: float, plan: ReleasePlan) -> float:
    """The smallest noise multiplier (to the bisection's precision) whose PLD epsilon for ``plan`` is <= target.

    RDP bounds PLD from above, so the noise at which RDP meets the target is enough (the bracket's top, found
    by doubling on RDP, cheap at any noise); halving on PLD finds the bottom, and bisection on PLD narrows it.
    """
    if target_epsilon <= 0:
        raise ValueError(f"target epsilon must be positive, got {target_epsilon}")

    def epsilon(z: float, method: accounting.Method = "pld") -> float:
        return accounting.epsilon(z, plan.sample_rate, plan.steps, plan.delta, method)

    high = 1.0
    while epsilon(high, "rdp") > target_epsilon:
        high *= 2
        if high > 1e6:
            raise ValueError(f"no noise multiplier up to 1e6 reaches epsilon {target_epsilon} for {plan.steps} steps")
    low = high / 2
    while epsilon(low) <= target_epsilon:
        high, low = low, low / 2
        if low < 1e-3:
            return high
    for _ in range(_BISECTIONS):
        middle = (low + high) / 2
        if epsilon(middle) <= target_epsilon:
            high = middle
        else:
            low = middle
    return high
