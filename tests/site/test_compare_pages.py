"""Compare pages read at a glance: chart first, then a narrow table sorted by the headline, the rest folded.

The pages are rendered from a small made-up ``fedgen compare --preset quality`` result, so each expectation
(order, frontier, sections) is known by construction; the browser test checks the real pages' layout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import TOY_ENTRIES, write_catalog
from fedgen_registry.catalog import load_catalog
from fedgen_registry.catalog.query import Catalog
from fedgen_registry.sitegen import layout
from fedgen_registry.sitegen.compare import RESULTS_FOLDER, compare_page
from fedgen_registry.sitegen.comparison import read_comparison
from fedgen_registry.sitegen.markup import md

pytest.importorskip("matplotlib", reason="matplotlib draws the Compare pages' charts")

METRICS = ["kid", "recall", "precision", "copied_fraction"]


def run(
    implementation: str,
    kid: tuple[float, float] | None,
    bytes_up: float,
    evaluation: str = "shared",
    epsilon: float | None = None,
    papers: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """The run's rows on the two partitions; ``kid`` None makes it a failed run."""
    rows = []
    for partition, value in zip(("iid", "dirichlet"), kid or (None, None), strict=True):
        row: dict[str, Any] = {
            "implementation": implementation,
            "partition": partition,
            "papers": list(papers),
            "fidelity": "faithful",
            "evaluation": evaluation,
            "status": "ok" if kid else "failed: RuntimeError: boom",
        }
        if kid:
            values = {"kid": value, "recall": 0.9, "precision": 0.8, "copied_fraction": 0.0}
            values |= {"bytes_up_per_client_round": bytes_up, "epsilon": epsilon, "real_rows": 1000.0, "wall_s": 3.0}
            row |= values | {f"{k}_std": (0.001 if v is not None else None) for k, v in values.items()}
        rows.append(row)
    return rows


def results(lower_is_better: bool = True, with_private: bool = True) -> dict[str, Any]:
    rows = [
        *run("centralized-gan", (0.010, 0.010), 700_000),
        *run("fedavg-gan", (0.008, 0.090), 700_000, papers=("alpha-gan-2019", "gone-2000")),
        *run("md-gan", (0.030, 0.120), 75_000),
        *run("big-gan", (0.050, 0.060), 1_000_000),
        *run("broken-gan", None, 0),
    ]
    if with_private:
        rows += run("dp-gan", (2.0, 3.0), 300_000, evaluation="own", epsilon=300.0)
    return {
        "family": "gan",
        "dataset": "digits",
        "preset": "quality",
        "baseline": "centralized-gan",
        "reference": "fedavg-gan",
        "partitions": ["iid", "dirichlet"],
        "alpha": 0.1,
        "seeds": [0, 1, 2],
        "skewed_seeds": [0],
        "metrics": METRICS,
        "lower_is_better": lower_is_better,
        "rows": rows,
        "skipped": [{"implementation": "other-gan", "reason": "trains on another data set"}],
    }


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return load_catalog(write_catalog(tmp_path_factory.mktemp("catalog"), TOY_ENTRIES), check_implementations=False)


def render(docs: Path, data: dict[str, Any], catalog: Catalog) -> str:
    cache = docs / RESULTS_FOLDER
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "gan.json").write_text(json.dumps(data), encoding="utf-8")
    return compare_page(docs, "gan", catalog)


def table_rows(page: str, heading: str) -> list[list[str]]:
    """The cells of the table under ``## heading`` (header and rule dropped)."""
    section = page.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("| ")]
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in lines[2:]]


def test_ranking_is_by_the_headline_and_the_frontier_is_what_nothing_beats() -> None:
    comparison = read_comparison(results())
    assert comparison.ranking(True) == ["fedavg-gan", "centralized-gan", "md-gan", "big-gan", "broken-gan"]
    assert comparison.ranking(False) == ["dp-gan"]
    assert comparison.frontier("iid") == {"fedavg-gan", "md-gan"}  # the baseline ties on bytes and loses on KID
    assert comparison.frontier("dirichlet") == {"centralized-gan", "md-gan"}
    higher = read_comparison(results(lower_is_better=False))
    assert higher.ranking(True) == ["big-gan", "md-gan", "centralized-gan", "fedavg-gan", "broken-gan"]
    assert higher.private() == ["dp-gan"]


def test_page_opens_with_the_chart_then_a_narrow_sorted_table_and_folds_the_rest(
    tmp_path: Path, catalog: Catalog
) -> None:
    page = render(tmp_path, results(), catalog)
    chart = page.index("](../charts/compare-gan-bytes.png)")
    assert chart < page.index("\n| implementation |")
    assert (tmp_path / layout.CHARTS / "compare-gan-bytes.png").stat().st_size > 1000
    ranked = table_rows(page, "Ranked on the shared evaluation")
    assert [row[0].split()[0] for row in ranked] == [
        "`fedavg-gan`",
        "`centralized-gan`",
        "`md-gan`",
        "`big-gan`",
        "`broken-gan`",
    ]
    assert len(ranked[0]) == 6  # implementation, two metrics on two partitions, bytes: nothing more
    assert ranked[0][1:3] == ["0.008 <small>± 0.001</small>", "0.09 <small>± 0.001</small>"]
    assert ranked[0][-1] == "700 kB" and ranked[-1][1:] == ["n/a"] * 5
    assert [row[0] for row in table_rows(page, "Judged by their own evaluation")] == ["`dp-gan`"]
    details = page.split("## Details\n", 1)[1].lstrip()
    assert details.startswith('??? note "Every column of every run"')
    assert all(f" {md(column)} |" in details for column in (*METRICS, "real_rows", "epsilon", "wall_s"))
    assert "failed: RuntimeError: boom" in details
    assert "](../papers/alpha-gan-2019.md)" in details and "gone\\-2000" in details  # unknown papers: no link
    assert "`broken-gan` on iid: failed: RuntimeError: boom" in page
    assert "`other-gan`: trains on another data set" in page


def test_private_methods_get_their_epsilon_chart_only_when_there_are_any(tmp_path: Path, catalog: Catalog) -> None:
    page = render(tmp_path / "private", results(), catalog)
    private = page.split("## Privacy against quality\n", 1)[1].split("\n## ", 1)[0]
    assert private.index("](../charts/compare-gan-epsilon.png)") < private.index("\n| implementation |")
    assert table_rows(page, "Privacy against quality") == [
        ["`dp-gan`", "300", "300", "2 <small>± 0.001</small>", "3 <small>± 0.001</small>"]
    ]
    public = render(tmp_path / "public", results(with_private=False), catalog)
    assert "## Privacy against quality" not in public
    assert not (tmp_path / "public" / layout.CHARTS / "compare-gan-epsilon.png").exists()
