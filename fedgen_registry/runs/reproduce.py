"""``fedgen reproduce``: run an implementation's claim over its seeds, decide it, and hold it against the
stored result.

Each :class:`~fedgen_registry.catalog.claims.ClaimRun` runs once per seed into its own folder under the
output root; what a run is measured by is read from the files it wrote (``metrics.json``, the per-round
traffic of ``history.jsonl``, ``privacy.json``) plus the real rows its meter counted, never typed by hand.
A finished run whose ``config.json`` still describes the same settings is read again rather than rerun, an
interrupted one resumes from its last checkpoint, and a folder left by other settings starts afresh, so
stopping ``fedgen reproduce --all`` loses nothing. Runs shared by several claims (the FedAvg-GAN every GAN
paper is compared with) run once per invocation through :class:`RunCache`.
"""

from __future__ import annotations

import json
import platform
import shutil
import time
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from fedgen_registry.catalog.claims import Claim, ClaimRun, Reproduction, RunResult, Summary, verdict_of
from fedgen_registry.catalog.vocab import Verdict

Log = Callable[[str], None]


def _numbers(mapping: Mapping[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in mapping.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def run_key(run: ClaimRun, seed: int) -> str:
    return json.dumps({**run.model_dump(mode="json"), "seed": seed}, sort_keys=True)


def run_folder(root: Path, run: ClaimRun, seed: int) -> Path:
    """One folder per distinct run and seed (overrides hashed into the name, so variants never collide)."""
    import hashlib

    digest = hashlib.sha1(json.dumps(run.overrides, sort_keys=True).encode()).hexdigest()[:8]
    suffix = f"-{digest}" if run.overrides else ""
    return root / f"{run.implementation}-{run.preset}{suffix}" / f"seed{seed}"


def measure(run: ClaimRun, seed: int, run_dir: Path) -> dict[str, float]:
    """Run (or reread, or resume) one run; its numeric metrics, upload per client-round, epsilon and rows."""
    from fedgen_registry.data.local import SampleMeter
    from fedgen_registry.federation.local import CHECKPOINT
    from fedgen_registry.runs.compare import traffic
    from fedgen_registry.runs.runner import RunContext, execute, resolve

    resolved = resolve(run.implementation, {**run.overrides, "seed": seed}, preset=run.preset)
    manifest, config_file, metrics_file = resolved.describe(), run_dir / "config.json", run_dir / "metrics.json"
    same = config_file.exists() and json.loads(config_file.read_text(encoding="utf-8")) == manifest
    rows_file = run_dir / "real_rows.json"
    if not (same and metrics_file.exists() and rows_file.exists()):
        resume = same and (run_dir / CHECKPOINT).exists()
        if not same and run_dir.exists():
            shutil.rmtree(run_dir)  # a run of settings no longer declared: neither reread nor resumed
        meter, started = SampleMeter(), time.perf_counter()
        execute(resolved, RunContext(run_dir=run_dir, quiet=True, resume=resume, meter=meter))
        wall = time.perf_counter() - started
        rows_file.write_text(json.dumps({"real_rows": meter.rows, "wall_s": wall}) + "\n", encoding="utf-8")
    measured = _numbers(json.loads(metrics_file.read_text(encoding="utf-8")))
    measured.update(_numbers(json.loads(rows_file.read_text(encoding="utf-8"))))
    measured.update(_numbers(traffic(run_dir)))
    privacy_file = run_dir / "privacy.json"
    if privacy_file.exists():
        measured.update(
            {
                k: v
                for k, v in _numbers(json.loads(privacy_file.read_text(encoding="utf-8"))).items()
                if k in ("epsilon", "delta")
            }
        )
    return measured


class RunCache:
    """Measurements by (run, seed) for one invocation, so a run shared by several claims runs once."""

    def __init__(self, root: Path, log: Log) -> None:
        self.root, self.log = root, log
        self._measured: dict[str, dict[str, float]] = {}

    def get(self, run: ClaimRun, seed: int) -> dict[str, float]:
        key = run_key(run, seed)
        if key not in self._measured:
            started = time.perf_counter()
            self._measured[key] = measure(run, seed, run_folder(self.root, run, seed))
            self.log(f"  {run.implementation} ({run.preset}) seed {seed}: {time.perf_counter() - started:.1f} s")
        return self._measured[key]


def decide(implementation: str, claim: Claim, cache: RunCache, seeds: tuple[int, ...] | None = None) -> Reproduction:
    """Decide ``claim`` on fresh (or cached) runs over ``seeds`` (default: the claim's)."""
    if claim.not_checkable is not None:
        return Reproduction(
            implementation=implementation,
            statement=claim.statement,
            verdict=Verdict.NOT_CHECKABLE,
            not_checkable=claim.not_checkable,
            note=claim.note,
        )
    chosen = seeds or claim.seeds
    started = time.perf_counter()
    runs: dict[str, RunResult] = {}
    wanted = claim.metrics()
    for label, run in claim.runs.items():
        per_seed = [cache.get(run, seed) for seed in chosen]
        present = [m for m in wanted if all(m in measured for measured in per_seed)]
        runs[label] = RunResult(
            run=run, metrics={m: Summary.of([measured[m] for measured in per_seed]) for m in present}
        )
    means = {label: {m: s.mean for m, s in result.metrics.items()} for label, result in runs.items()}
    checks = [check.evaluate(means) for check in claim.checks]
    import torch

    return Reproduction(
        implementation=implementation,
        statement=claim.statement,
        verdict=verdict_of(checks),
        seeds=tuple(chosen),
        runs=runs,
        checks=checks,
        note=claim.note,
        recorded={
            "date": date.today().isoformat(),
            "torch": torch.__version__,
            "machine": platform.machine(),
            "seconds": round(time.perf_counter() - started, 1),
        },
    )


def report_lines(result: Reproduction) -> list[str]:
    """The claim, each run's metrics (mean +- std over the seeds), each check and the verdict."""
    lines = [f"{result.implementation}: {result.statement}"]
    if result.verdict is Verdict.NOT_CHECKABLE:
        return [*lines, f"  verdict: {result.verdict.label} ({result.not_checkable})"]
    for label, run in result.runs.items():
        figures = ", ".join(f"{metric} {summary.text()}" for metric, summary in run.metrics.items())
        lines.append(f"  {label} [{run.run.implementation} @ {run.run.preset}]: {figures}")
    for check in result.checks:
        mark = {True: "holds", False: "fails", None: "undecided"}[check.holds]
        left = "n/a" if check.left is None else f"{check.left:.4g}"
        right = "n/a" if check.right is None else f"{check.right:.4g}"
        lines.append(f"  [{mark}] {check.text}: {left} vs {right}")
    seeds = ", ".join(map(str, result.seeds))
    lines.append(f"  verdict: {result.verdict.label} (seeds {seeds})")
    if result.note:
        lines.append(f"  note: {result.note}")
    return lines


def implementation_of(requested: str) -> str:
    """The implementation id behind a paper id (an implementation id is returned as it is)."""
    from fedgen_registry.catalog import load_catalog

    catalog = load_catalog()
    if requested in catalog:
        implementation = catalog.get(requested).implementation
        if implementation is not None:
            return implementation.id
    return requested


def reproduce(
    requested: str, *, seeds: tuple[int, ...] | None = None, out: str | Path = "runs/reproduce", log: Log = print
) -> Reproduction:
    """Decide the headline claim of a paper's (or an implementation's) implementation on fresh runs.

    ``fedgen_registry.reproduce("md-gan-2018").verdict``; the runs land under ``out`` and are reread or
    resumed by a later call, as ``fedgen reproduce`` does.
    """
    from fedgen_registry.registry import get_implementation

    implementation = implementation_of(requested)
    claim = get_implementation(implementation).claim
    if claim is None:
        raise ValueError(f"{implementation} declares no claim yet (register(..., claim=Claim(...)))")
    return decide(implementation, claim, RunCache(Path(out), log), seeds)
