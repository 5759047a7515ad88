"""``--target-epsilon``: the noise found is the smallest that keeps the plan under the target, and every DP
implementation's run, with every client training every round (the plan's worst case), spends the target."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from fedgen_registry.cli import main
from fedgen_registry.mechanisms.privacy import accounting
from fedgen_registry.mechanisms.privacy.calibration import ReleasePlan, noise_for
from fedgen_registry.mechanisms.privacy.ledger import read_ledger
from fedgen_registry.runs.calibrate import calibratable_ids, calibrate
from fedgen_registry.runs.runner import RunContext, RunError, execute
from runtime.settings import FAST_EVAL

TARGET = 8.0
EVERY_CLIENT_EVERY_ROUND = {
    "dp-fedavg-gan": {"clients": 2, "clients_per_round": 2, "rounds": 2},
    "feddpgan": {"clients": 2, "rounds": 2, "local_steps": 2},
    "gs-wgan": {"clients": 3, "clients_per_round": 3, "rounds": 2, "critic_iters": 1},
    "pp-fedgan": {"clients": 2, "rounds": 2, "local_steps": 2},
    "private-fl-gan": {"clients": 2, "rounds": 2, "local_steps": 2},
}


def test_every_dp_implementation_is_calibratable() -> None:
    assert calibratable_ids() == sorted(EVERY_CLIENT_EVERY_ROUND)


def test_the_noise_is_the_smallest_that_meets_the_target() -> None:
    plan = ReleasePlan(setting="dp.noise_multiplier", sample_rate=0.1, steps=300, delta=1e-5, worst_case="a test")
    noise = noise_for(TARGET, plan)
    assert accounting.epsilon(noise, 0.1, 300, 1e-5) <= TARGET < accounting.epsilon(0.99 * noise, 0.1, 300, 1e-5)
    assert accounting.epsilon(noise, 0.1, 300, 1e-5, "rdp") > TARGET  # PLD's tighter bound buys less noise


@pytest.mark.parametrize("implementation", sorted(EVERY_CLIENT_EVERY_ROUND))
def test_a_calibrated_run_spends_its_target(implementation: str, tmp_path: Path) -> None:
    overrides = {**FAST_EVAL, **EVERY_CLIENT_EVERY_ROUND[implementation]}
    resolved, message = calibrate(implementation, overrides, "smoke", TARGET)
    assert message.startswith("calibrated ") and "epsilon <= 8" in message
    execute(resolved, RunContext(run_dir=tmp_path, quiet=True))
    ledger = read_ledger(tmp_path)
    assert 0.97 * TARGET <= ledger.epsilon <= TARGET


def test_refusals_name_the_setting(tmp_path: Path) -> None:
    with pytest.raises(
        RunError, match=re.escape("md-gan has no DP noise to calibrate; implementations that have: dp-fedavg-gan")
    ):
        calibrate("md-gan", {}, "smoke", TARGET)
    with pytest.raises(
        RunError, match=re.escape("sets sanitize.noise_multiplier; drop --set sanitize.noise_multiplier")
    ):
        calibrate("gs-wgan", {"sanitize.noise_multiplier": 2.0}, "smoke", TARGET)
    with pytest.raises(RunError, match=re.escape("dp.enabled is false")):
        calibrate("dp-fedavg-gan", {"dp.enabled": False}, "smoke", TARGET)
    result = CliRunner().invoke(main, ["run", "gs-wgan", "--preset", "smoke", "--target-epsilon", "0", "--dry-run"])
    assert result.exit_code == 2 and "--target-epsilon" in result.output
