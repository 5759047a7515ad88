"""``fedgen compare --preset quality``: rows are seed means of the runs' own files, on the runs that
``fedgen reproduce`` uses, with folded details and charts."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from fedgen_registry.catalog.claims import ClaimRun
from fedgen_registry.runs.compare import CompareSettings
from fedgen_registry.runs.quality_compare import compare_quality
from fedgen_registry.runs.reproduce import run_folder

TINY = {"rounds": 1, "local_steps": 1, "eval.samples": 64}


def test_rows_are_seed_means_of_the_runs_shared_with_reproduce(tmp_path: Path) -> None:
    settings = CompareSettings(out=tmp_path / "runs", only=("fedavg-gan",), overrides=TINY, results=tmp_path / "res")
    results = compare_quality(settings, (0, 1, 2), log=lambda _: None)
    rows = {(r["implementation"], r["partition"]): r for r in results["rows"]}
    assert set(rows) == {(i, p) for i in ("centralized-gan", "fedavg-gan") for p in ("iid", "dirichlet")}
    iid = rows[("fedavg-gan", "iid")]
    claim_run = ClaimRun(implementation="fedavg-gan", overrides=TINY)  # what a claim at quality names
    kids = [
        json.loads((run_folder(settings.out, claim_run, seed) / "metrics.json").read_text(encoding="utf-8"))["kid"]
        for seed in (0, 1, 2)
    ]
    assert iid["kid"] == statistics.fmean(kids) and iid["kid_std"] == statistics.stdev(kids)
    skewed = json.loads((Path(rows[("fedavg-gan", "dirichlet")]["run_dir"]) / "config.json").read_text())
    assert skewed["config"]["data"]["partition"] == "dirichlet"
    page = (tmp_path / "res" / "gan.md").read_text(encoding="utf-8")
    assert '??? note "Every column"' in page and "(gan-tradeoff.png)" in page
    assert (tmp_path / "res" / "gan-tradeoff.png").exists() and not (tmp_path / "res" / "gan-privacy.png").exists()
