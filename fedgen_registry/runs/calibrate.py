"""``--target-epsilon``: build the run's algorithm on its data, ask what it will release, set the noise to match.

The algorithm is built once in a scratch folder (its partition is the run's: same seed, same data) only to read
its :class:`~fedgen_registry.mechanisms.privacy.calibration.ReleasePlan`; nothing is trained. The run is then
resolved again with the calibrated noise multiplier as one more override, so the manifest records it and a
resume of the run finds the same settings.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fedgen_registry.mechanisms.privacy.calibration import Calibratable, noise_for
from fedgen_registry.registry import REGISTRY
from fedgen_registry.runs.runner import ResolvedRun, RunError, resolve


def calibratable(target: object) -> bool:
    """Whether a registered target is a DP algorithm that states its releases (:class:`Calibratable`)."""
    return isinstance(target, type) and issubclass(target, Calibratable)


def calibratable_ids() -> list[str]:
    """The registered implementations that can calibrate their noise to a target epsilon."""
    return [i for i in REGISTRY.ids() if calibratable(REGISTRY.get(i).target)]


def calibrate(
    requested: str, overrides: Mapping[str, Any], preset: str | None, target_epsilon: float
) -> tuple[ResolvedRun, str]:
    """The run resolved with the noise multiplier that gives at most ``target_epsilon``, and one line saying so."""
    resolved = resolve(requested, overrides, preset=preset)
    if not calibratable(resolved.spec.target):
        raise RunError(
            f"--target-epsilon: {resolved.spec.id} has no DP noise to calibrate; "
            f"implementations that have: {', '.join(calibratable_ids())}"
        )
    with tempfile.TemporaryDirectory() as scratch:
        algorithm: Calibratable = resolved.spec.target(resolved.config, Path(scratch))
        try:
            plan = algorithm.release_plan()
        except ValueError as exc:
            raise RunError(f"--target-epsilon: {exc}") from None
    if plan.setting in overrides:
        raise RunError(f"--target-epsilon sets {plan.setting}; drop --set {plan.setting}=... or the target")
    try:
        noise = noise_for(target_epsilon, plan)
    except ValueError as exc:
        raise RunError(f"--target-epsilon: {exc}") from None
    calibrated = resolve(requested, {**overrides, plan.setting: noise}, preset=preset)
    message = (
        f"calibrated {plan.setting}={noise:.4g} for epsilon <= {target_epsilon:g} at delta {plan.delta:g} "
        f"(PLD; {plan.steps} releases at q = {plan.sample_rate:.4g}, {plan.worst_case})"
    )
    return calibrated, message
