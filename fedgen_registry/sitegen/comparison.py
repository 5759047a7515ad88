"""The numbers behind a Compare page, read once from a cached ``fedgen compare --preset quality`` result.

The page's charts and tables are drawn from the same :class:`Comparison`, so a picture and the numbers
beneath it cannot disagree. Runs judged by the shared evaluation are ranked together; a run that judges
its own samples (``evaluation: own``) is not ranked against them, as the compare command itself says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SHARED = "shared"
BYTES = "bytes_up_per_client_round"
EPSILON = "epsilon"


@dataclass(frozen=True)
class Measure:
    """A mean over seeds and its standard deviation; ``mean`` is None when a seed lacked the value."""

    mean: float | None
    std: float | None


@dataclass(frozen=True)
class Run:
    """One implementation on one partition: one row of the cached results."""

    implementation: str
    partition: str
    status: str
    evaluation: str
    fidelity: str | None
    papers: tuple[str, ...]
    values: Mapping[str, Measure]

    def value(self, key: str) -> float | None:
        measure = self.values.get(key)
        return None if measure is None else measure.mean

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class Point:
    """One marker of a chart: a run's headline against one of its costs."""

    label: str
    x: float
    y: float
    ranked: bool
    """Judged by the shared evaluation (drawn filled); own-evaluation runs are drawn hollow."""
    named: bool
    """Whether the chart writes the label beside the marker (only a few are, so labels stay legible)."""


@dataclass(frozen=True)
class Comparison:
    """A family's cached quality comparison."""

    family: str
    dataset: str | None
    baseline: str
    partitions: tuple[str, ...]
    alpha: float
    seeds: tuple[int, ...]
    skewed_seeds: tuple[int, ...]
    metrics: tuple[str, ...]
    lower_is_better: bool
    runs: tuple[Run, ...]
    skipped: tuple[Mapping[str, str], ...]

    @property
    def headline(self) -> str:
        return self.metrics[0]

    def run(self, implementation: str, partition: str) -> Run | None:
        return next((r for r in self.runs if r.implementation == implementation and r.partition == partition), None)

    def better(self, a: float, b: float) -> bool:
        """Whether headline value ``a`` is strictly better than ``b``."""
        return a < b if self.lower_is_better else a > b

    def ranking(self, ranked: bool) -> list[str]:
        """Implementations judged by the shared evaluation (``ranked``) or by their own, best headline first on
        the first partition; those without a headline value come last, then by id."""
        first = self.partitions[0]
        ids = list(dict.fromkeys(r.implementation for r in self.runs if (r.evaluation == SHARED) == ranked))
        sign = 1 if self.lower_is_better else -1

        def key(implementation: str) -> tuple[bool, float, str]:
            run = self.run(implementation, first)
            value = run.value(self.headline) if run is not None else None
            return (value is None, 0.0 if value is None else sign * value, implementation)

        return sorted(ids, key=key)

    def frontier(self, partition: str) -> set[str]:
        """Shared-evaluation runs on ``partition`` that no other such run beats on both headline and bytes."""
        scored = [
            (r.implementation, r.value(self.headline), r.value(BYTES))
            for r in self.runs
            if r.partition == partition and r.evaluation == SHARED
        ]
        points = [(i, q, b) for i, q, b in scored if q is not None and b is not None]
        return {
            i
            for i, q, b in points
            if not any(b2 <= b and not self.better(q, q2) and (b2 < b or self.better(q2, q)) for _, q2, b2 in points)
        }

    def points(self, partition: str, cost: str, named: set[str] | None = None) -> list[Point]:
        """Every run on ``partition`` with a headline and a ``cost`` value; labelled if in ``named`` (None: all)."""
        found = []
        for run in self.runs:
            y, x = run.value(self.headline), run.value(cost)
            if run.partition == partition and y is not None and x is not None:
                label = run.implementation
                found.append(Point(label, x, y, run.evaluation == SHARED, named is None or label in named))
        return found

    def private(self) -> list[str]:
        """Implementations with an epsilon on some partition, in ranking order."""
        ids = {r.implementation for r in self.runs if r.value(EPSILON) is not None}
        return [i for i in self.ranking(True) + self.ranking(False) if i in ids]


def _measure(row: Mapping[str, Any], key: str) -> Measure:
    return Measure(row.get(key), row.get(f"{key}_std"))


def read_comparison(results: Mapping[str, Any]) -> Comparison:
    """The cached JSON of ``fedgen compare --preset quality`` as a :class:`Comparison`."""
    metrics = tuple(results["metrics"])
    keys = (*metrics, BYTES, EPSILON, "real_rows", "wall_s")
    runs = tuple(
        Run(
            implementation=row["implementation"],
            partition=row["partition"],
            status=row["status"],
            evaluation=row.get("evaluation", SHARED),
            fidelity=row.get("fidelity"),
            papers=tuple(row.get("papers", ())),
            values={key: _measure(row, key) for key in keys} if row["status"] == "ok" else {},
        )
        for row in results["rows"]
    )
    seeds = tuple(results["seeds"])
    return Comparison(
        family=results["family"],
        dataset=results.get("dataset"),
        baseline=results["baseline"],
        partitions=tuple(results["partitions"]),
        alpha=results["alpha"],
        seeds=seeds,
        skewed_seeds=tuple(results.get("skewed_seeds", seeds)),
        metrics=metrics,
        lower_is_better=results["lower_is_better"],
        runs=runs,
        skipped=tuple(results.get("skipped", ())),
    )
