"""Smoke-run artefacts on paper pages: read from site/runs/<paper-id>/, shown with the command that made them."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import REPO, make_entry
from fedgen_registry.catalog.query import Catalog
from fedgen_registry.catalog.schema import Paper
from fedgen_registry.sitegen.markup import md
from fedgen_registry.sitegen.paper import paper_page
from fedgen_registry.sitegen.runs import load_runs

PNG = bytes.fromhex("89504e470d0a1a0a")  # the page only links the file; its bytes are not read


def _paper() -> Paper:
    implementation = {"id": "toy-impl", "preset": "toy-2021", "status": "available", "fidelity": "family"}
    return Paper.model_validate(make_entry("toy-2021", implementation=implementation))


def _cache_run(docs: Path, paper_id: str, with_privacy: bool) -> None:
    folder = docs / "runs" / paper_id
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"preset": "smoke", "config": {"rounds": 3, "seed": 0}}))
    (folder / "metrics.json").write_text(json.dumps({"rounds": 3, "kid": 0.123456789}))
    (folder / "samples.png").write_bytes(PNG)
    if with_privacy:
        (folder / "privacy.json").write_text(json.dumps({"mechanism": "client-level-dp", "epsilon": 2.5}))


def test_cached_run_is_rendered_with_metrics_images_ledger_and_settings(tmp_path: Path) -> None:
    paper = _paper()
    _cache_run(tmp_path, paper.id, with_privacy=True)
    runs = load_runs(tmp_path)
    page = paper_page(paper, Catalog([paper]), runs[paper.id])
    assert "fedgen site runs toy-2021" in page
    assert f"| kid | {md('0.1235')} |" in page  # the metric as the run wrote it, rounded for reading
    assert "(../runs/toy-2021/samples.png)" in page  # relative to papers/<id>.md
    assert f"| epsilon | {md('2.5')} |" in page and f"| mechanism | {md('client-level-dp')} |" in page
    assert '"rounds": 3' in page


def test_paper_without_a_cached_run_says_how_to_make_one(tmp_path: Path) -> None:
    paper = _paper()
    assert load_runs(tmp_path) == {}
    page = paper_page(paper, Catalog([paper]), None)
    assert "No smoke run is cached" in page and "fedgen site runs toy-2021" in page


def test_committed_runs_belong_to_implemented_papers() -> None:
    from fedgen_registry.catalog import load_catalog

    catalog = load_catalog()
    for paper_id, run in load_runs(REPO / "site").items():
        assert catalog.get(paper_id).implemented, paper_id
        assert run.config["preset"] == "smoke" and run.config["paper"] == paper_id
        assert "kid" in run.metrics or "perplexity" in run.metrics or run.metrics
