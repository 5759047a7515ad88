"""Claims decide from seed means, refuse what cannot be decided, and stored results catch drift."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from fedgen_registry.catalog.claims import (
    Check,
    Claim,
    ClaimRun,
    Reproduction,
    RunResult,
    Summary,
    drift,
    image_parity_checks,
    meets_targets,
    verdict_of,
)
from fedgen_registry.catalog.vocab import Verdict

RUNS = {"ours": ClaimRun(implementation="md-gan"), "ref": ClaimRun(implementation="fedavg-gan")}


def claim(*checks: Check) -> Claim:
    return Claim(statement="ours matches ref", runs=RUNS, checks=list(checks))


def test_a_check_compares_the_left_mean_with_the_scaled_right_mean_plus_margin() -> None:
    check = Check(metric="recall", run="ours", op=">=", against="ref", factor=0.8, margin=0.01)
    result = check.evaluate({"ours": {"recall": 0.75}, "ref": {"recall": 0.9}})
    assert result.right == pytest.approx(0.73)
    assert result.holds is True
    assert not check.evaluate({"ours": {"recall": 0.72}, "ref": {"recall": 0.9}}).holds
    assert check.text() == "recall(ours) >= 0.8 x recall(ref) + 0.01"


def test_a_missing_metric_leaves_the_check_undecided_and_the_claim_not_reproduced() -> None:
    result = Check(metric="kid", run="ours", op="<=", against=0.02).evaluate({"ours": {}})
    assert result.holds is None
    assert verdict_of([result]) is Verdict.NOT_REPRODUCED


def test_the_verdict_needs_every_check_to_hold() -> None:
    checks = image_parity_checks("ours", "ref")
    means = {"ours": {"kid": 0.03, "recall": 0.9}, "ref": {"kid": 0.02, "recall": 0.95}}
    assert verdict_of([c.evaluate(means) for c in checks]) is Verdict.REPRODUCED
    means["ours"]["kid"] = 0.05
    assert verdict_of([c.evaluate(means) for c in checks]) is Verdict.NOT_REPRODUCED


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"runs": RUNS, "checks": [Check(metric="kid", run="ours", op="<=", against="nobody")]}, "names run 'nobody'"),
        ({"runs": RUNS, "checks": []}, "at least one check"),
        ({"runs": RUNS, "checks": image_parity_checks("ours", "ref"), "seeds": (0, 1)}, "at least 3 seeds"),
        ({"runs": RUNS, "not_checkable": "needs MRI volumes"}, "names no runs"),
    ],
)
def test_a_claim_that_cannot_be_decided_is_refused_when_declared(settings: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Claim(statement="s", **settings)


def test_meets_targets_checks_one_run_against_constants() -> None:
    declared = meets_targets("the recipe works", "centralized-gan")
    assert [c.text() for c in declared.checks] == [
        "kid(centralized-gan) <= 0.02",
        "recall(centralized-gan) >= 0.8",
        "copied_fraction(centralized-gan) <= 0.01",
    ]


def stored(kid: float) -> Reproduction:
    runs = {label: RunResult(run=run, metrics={"kid": Summary.of([kid, kid, kid])}) for label, run in RUNS.items()}
    return Reproduction(
        implementation="md-gan", statement="ours matches ref", verdict=Verdict.REPRODUCED, seeds=(0, 1, 2), runs=runs
    )


def test_drift_is_a_fresh_mean_outside_the_tolerance_of_the_stored_one() -> None:
    declared = claim(Check(metric="kid", run="ours", op="<=", against="ref"))
    assert drift(declared, stored(0.015), stored(0.010)) == []  # within the default 0.01
    lines = drift(declared, stored(0.025), stored(0.010))
    assert len(lines) == 2 and lines[0].startswith("kid(ours): fresh 0.025, stored 0.01")
    tight = Claim(**{**declared.model_dump(), "tolerance": {"kid": 0.001}})
    assert drift(tight, stored(0.012), stored(0.010))


def test_a_stored_result_matches_only_the_claim_it_was_recorded_for() -> None:
    declared = claim(Check(metric="kid", run="ours", op="<=", against="ref"))
    assert stored(0.01).matches(declared)
    other_runs = {**RUNS, "ours": ClaimRun(implementation="md-gan", overrides={"data.alpha": 0.1})}
    assert not stored(0.01).matches(Claim(**{**declared.model_dump(), "runs": other_runs}))
    assert not stored(0.01).matches(Claim(**{**declared.model_dump(), "statement": "another"}))


def test_large_counts_read_in_full_and_small_metrics_keep_four_digits() -> None:
    assert Summary.of([75210.0, 75210.0]).text() == "75,210 +- 0"
    assert Summary.of([0.0123456, 0.0133456]).text() == "0.01285 +- 0.00071"
    assert Summary.of([1234.5]).text() == "1234 +- 0"
