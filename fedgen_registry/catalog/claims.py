"""A paper's headline claim as a checkable comparison, and the stored result of checking it.

An implementation declares one :class:`Claim` beside its presets (``@register(..., claim=...)``): the
runs that check it (:class:`ClaimRun`, each an implementation at a preset with overrides), the
comparisons between their seed means (:class:`Check`: ``kid(md-gan) <= kid(fedavg-gan) + 0.02``), the
seeds and a tolerance per metric. ``fedgen reproduce`` runs it and gives the verdict: *reproduced* when
every check holds, *not reproduced* otherwise, *not checkable here* when the claim says why it cannot be
run on this machine (a data set that is not shipped, a scale that is not reachable). The numbers of the
last recorded run are stored as a :class:`Reproduction` in the catalogue's ``reproductions/`` folder
(:mod:`fedgen_registry.catalog.reproductions`), so a fresh run can be compared with them
(``|fresh - stored| < tolerance`` per metric: nothing drifted) and the catalogue can offer the verdict as a
facet without importing torch; this module needs pydantic only.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fedgen_registry.catalog.vocab import Verdict

Operator = Literal["<=", ">=", "<", ">"]
DEFAULT_TOLERANCE: Mapping[str, float] = {
    "kid": 0.01,
    "recall": 0.05,
    "precision": 0.05,
    "copied_fraction": 0.02,
    "quality_score": 0.03,
    "tstr_accuracy": 0.05,
    "perplexity": 1.0,
    "test_accuracy": 0.02,
}
"""How far a fresh seed mean may sit from the stored one and still count as the same result (absolute),
for the metrics whose spread over machines is known; any other metric gets :data:`FALLBACK_TOLERANCE`."""
FALLBACK_TOLERANCE = 0.1
"""Relative tolerance (10 % of the stored value) for metrics without a stated absolute tolerance."""
HEADLINE = ("kid", "recall", "precision", "copied_fraction", "quality_score", "perplexity", "test_accuracy")
"""Metrics stored for every run that reports them, beside those the checks use."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClaimRun(Strict):
    """One run of a claim, repeated over its seeds: an implementation at a preset, with overrides."""

    implementation: str
    preset: str = "quality"
    overrides: dict[str, Any] = Field(default_factory=dict, description="Dotted settings on top of the preset.")


class Check(Strict):
    """``metric(run) op factor * metric(against) + margin``, on seed means; ``against`` may be a number."""

    metric: str
    run: str = Field(description="The label of the run on the left.")
    op: Operator
    against: str | float = Field(description="The label of the run on the right, or a constant.")
    against_metric: str | None = Field(None, description="Another metric on the right (default: the same).")
    factor: float = 1.0
    margin: float = 0.0

    def text(self) -> str:
        if isinstance(self.against, str):
            right = f"{self.against_metric or self.metric}({self.against})"
            if self.factor != 1.0:
                right = f"{self.factor:g} x {right}"
            if self.margin:
                right += f" {'+' if self.margin > 0 else '-'} {abs(self.margin):g}"
        else:
            right = f"{self.against:g}"
        return f"{self.metric}({self.run}) {self.op} {right}"

    def evaluate(self, means: Mapping[str, Mapping[str, float | None]]) -> CheckResult:
        left = means[self.run].get(self.metric)
        if isinstance(self.against, str):
            raw = means[self.against].get(self.against_metric or self.metric)
            right = None if raw is None else self.factor * raw + self.margin
        else:
            right = float(self.against)
        holds = None if left is None or right is None else _compare(left, self.op, right)
        return CheckResult(text=self.text(), left=left, right=right, holds=holds)


def _compare(left: float, op: Operator, right: float) -> bool:
    return {"<=": left <= right, ">=": left >= right, "<": left < right, ">": left > right}[op]


class Claim(Strict):
    """A paper's headline claim as comparisons between runs, or the reason it cannot be checked here."""

    statement: str = Field(description="The claim in one sentence, as a comparison a run can decide.")
    runs: dict[str, ClaimRun] = Field(default_factory=dict, description="Label -> run.")
    checks: list[Check] = Field(default_factory=list)
    seeds: tuple[int, ...] = (0, 1, 2)
    tolerance: dict[str, float] = Field(default_factory=dict, description="Absolute drift allowed per metric.")
    not_checkable: str | None = Field(None, description="Why this claim cannot be checked on this machine.")
    note: str | None = Field(None, description="What the comparison simplifies relative to the paper's claim.")

    @model_validator(mode="after")
    def _consistent(self) -> Claim:
        if self.not_checkable is not None:
            if self.runs or self.checks:
                raise ValueError("a claim that is not checkable here names no runs and no checks")
            return self
        if not self.checks:
            raise ValueError("a checkable claim needs at least one check (or not_checkable with the reason)")
        for check in self.checks:
            for label in (check.run, check.against):
                if isinstance(label, str) and label not in self.runs:
                    raise ValueError(f"check {check.text()!r} names run {label!r}; runs: {', '.join(self.runs)}")
        if len(self.seeds) < 3:
            raise ValueError(f"a claim is checked over at least 3 seeds, not {len(self.seeds)}")
        return self

    def metrics(self) -> list[str]:
        """The metrics the checks read, then the headline ones."""
        used = [check.metric for check in self.checks]
        used += [c.against_metric for c in self.checks if c.against_metric]
        return list(dict.fromkeys([*used, *HEADLINE]))

    def tolerance_of(self, metric: str, stored: float) -> float:
        if metric in self.tolerance:
            return self.tolerance[metric]
        if metric in DEFAULT_TOLERANCE:
            return DEFAULT_TOLERANCE[metric]
        return max(FALLBACK_TOLERANCE * abs(stored), 1e-9)


class Summary(Strict):
    """One metric of one run over the seeds."""

    mean: float
    std: float
    values: list[float]

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        return cls(
            mean=statistics.fmean(values), std=statistics.stdev(values) if len(values) > 1 else 0.0, values=list(values)
        )

    def text(self) -> str:
        return f"{readable(self.mean, 4)} +- {readable(self.std, 2)}"


def readable(value: float, digits: int) -> str:
    """``digits`` significant digits, but large counts (bytes, rows) in full with separators: "75,210", not
    "7.521e+04", which is harder to read and, in a table, wider."""
    if 1e4 <= abs(value) < 1e15:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


class CheckResult(Strict):
    text: str
    left: float | None
    right: float | None
    holds: bool | None = Field(description="None: a metric was missing, so the check could not be decided.")


class RunResult(Strict):
    run: ClaimRun
    metrics: dict[str, Summary]


class Reproduction(Strict):
    """What ``fedgen reproduce`` found for one implementation's claim; stored as JSON in the catalogue."""

    implementation: str
    statement: str
    verdict: Verdict
    seeds: tuple[int, ...] = ()
    runs: dict[str, RunResult] = Field(default_factory=dict)
    checks: list[CheckResult] = Field(default_factory=list)
    not_checkable: str | None = None
    note: str | None = None
    recorded: dict[str, Any] = Field(default_factory=dict, description="When, with which torch, in how long.")

    @property
    def command(self) -> str:
        return f"fedgen reproduce {self.implementation}"

    def matches(self, claim: Claim) -> bool:
        """Whether this result was recorded for ``claim`` as it is declared now (same statement, runs, seeds)."""
        if self.statement != claim.statement or self.not_checkable != claim.not_checkable:
            return False
        return self.seeds == claim.seeds and {k: v.run for k, v in self.runs.items()} == claim.runs


def verdict_of(checks: Sequence[CheckResult]) -> Verdict:
    return Verdict.REPRODUCED if checks and all(c.holds for c in checks) else Verdict.NOT_REPRODUCED


def drift(claim: Claim, fresh: Reproduction, stored: Reproduction) -> list[str]:
    """Each metric whose fresh seed mean is outside the tolerance of the stored one, as one line."""
    lines = []
    for label, run in stored.runs.items():
        for metric, summary in run.metrics.items():
            new = fresh.runs.get(label)
            if new is None or metric not in new.metrics:
                lines.append(f"{metric}({label}): stored {summary.mean:.4g}, missing from the fresh run")
                continue
            tolerance = claim.tolerance_of(metric, summary.mean)
            value = new.metrics[metric].mean
            if not math.isfinite(value) or abs(value - summary.mean) >= tolerance:
                lines.append(
                    f"{metric}({label}): fresh {value:.4g}, stored {summary.mean:.4g} (tolerance {tolerance:g})"
                )
    return lines


IMAGE_TARGETS: Mapping[str, tuple[Operator, float]] = {
    "kid": ("<=", 0.02),
    "recall": (">=", 0.8),
    "copied_fraction": ("<=", 0.01),
}
"""Issue 10's targets for an image family's centralized recipe on the bundled digits (and no copied rows)."""


def meets_targets(
    statement: str, implementation: str, targets: Mapping[str, tuple[Operator, float]] = IMAGE_TARGETS, **extra: Any
) -> Claim:
    """A recipe's claim: each metric of one run against a constant (a centralized baseline's targets)."""
    checks = [Check(metric=m, run=implementation, op=op, against=value) for m, (op, value) in targets.items()]
    return Claim(
        statement=statement, runs={implementation: ClaimRun(implementation=implementation)}, checks=checks, **extra
    )


def image_parity_checks(ours: str, baseline: str, kid_margin: float = 0.02, recall_factor: float = 0.8) -> list[Check]:
    """Issue 10's bar for a federated image generator: KID within ``kid_margin`` of the baseline's and recall
    at least ``recall_factor`` of it, at the same sample budget."""
    return [
        Check(metric="kid", run=ours, op="<=", against=baseline, margin=kid_margin),
        Check(metric="recall", run=ours, op=">=", against=baseline, factor=recall_factor),
    ]


TABLES = {"breast-cancer": {}, "wine": {"data.name": "wine"}}
"""Issue 10's two bundled tables, as the overrides of a claim's runs (breast cancer is the default)."""


def table_target_checks(run: str) -> list[Check]:
    """Issue 10's targets for a tabular recipe: sdmetrics quality >= 0.8, TSTR within 5 points of train-on-real."""
    return [
        Check(metric="quality_score", run=run, op=">=", against=0.8),
        Check(metric="tstr_accuracy", run=run, op=">=", against=run, against_metric="trtr_accuracy", margin=-0.05),
    ]


def table_parity_checks(
    ours: str, baseline: str, quality_margin: float = 0.03, tstr_margin: float = 0.05
) -> list[Check]:
    """A federated tabular generator against its baseline: sdmetrics quality and TSTR within the margins of its."""
    return [
        Check(metric="quality_score", run=ours, op=">=", against=baseline, margin=-quality_margin),
        Check(metric="tstr_accuracy", run=ours, op=">=", against=baseline, margin=-tstr_margin),
    ]


def parity_claim(statement: str, runs: Mapping[str, ClaimRun], **extra: Any) -> Claim:
    """A claim of parity: the first of ``runs`` within :func:`image_parity_checks`' bar of the second."""
    ours, baseline = list(runs)[:2]
    return Claim(statement=statement, runs=dict(runs), checks=image_parity_checks(ours, baseline), **extra)
