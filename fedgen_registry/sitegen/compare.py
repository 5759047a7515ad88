"""One Compare page per registry family, rendered from the cached ``fedgen compare`` results.

A comparison takes minutes to an hour, so the site never runs one: ``fedgen compare --results
site/compare/results`` caches ``<stem>.json`` and its figures there, and this module renders each JSON with
the same function the command used (the smoke table or the quality table). A family without a cache
still gets its page, saying how to make one, so the site builds either way.
"""

from __future__ import annotations

import json
from pathlib import Path

from fedgen_registry.runs.compare import FAMILIES, markdown_table
from fedgen_registry.runs.quality_compare import QUALITY, quality_markdown
from fedgen_registry.sitegen import layout

RESULTS_FOLDER = "compare/results"
"""Where ``fedgen compare --results`` caches the data and figures the pages show (relative to the docs)."""


def compare_page_path(family: str) -> str:
    return f"{layout.GENERATED}/compare/{FAMILIES[family].results_stem}.md"


def missing(family: str) -> str:
    return (
        "No comparison is cached for this family yet. This command makes one (runs shared with "
        "`fedgen reproduce` when `--out` is the same folder), then rebuild the site:\n\n"
        f"```bash\nfedgen compare --family {family} --preset quality --out runs/reproduce --results site/{RESULTS_FOLDER}\n```\n"
    )


def compare_body(docs_dir: Path, family: str) -> str:
    """The cached table and figures of one family, with links relative to its generated page."""
    stem = FAMILIES[family].results_stem
    results_file = docs_dir / RESULTS_FOLDER / f"{stem}.json"
    if not results_file.exists():
        return missing(family)
    results = json.loads(results_file.read_text(encoding="utf-8"))
    page = compare_page_path(family)

    def figure(name: str) -> str:
        return layout.link(page, f"{RESULTS_FOLDER}/{name}")

    if results.get("preset") == QUALITY:
        figures = {
            key: figure(f"{stem}{suffix}.png")
            for key, suffix in (("tradeoff", "-tradeoff"), ("privacy", "-privacy"), ("samples", ""))
            if (docs_dir / RESULTS_FOLDER / f"{stem}{suffix}.png").exists()
        }
        return quality_markdown(results, figures)
    sample = docs_dir / RESULTS_FOLDER / f"{stem}.png"
    return markdown_table(results, figure(sample.name) if sample.exists() else None)


def compare_page(docs_dir: Path, family: str) -> str:
    comparison = FAMILIES[family]
    return (
        f"# {comparison.title} side by side\n\n"
        f"Every registered {comparison.models} implementation beside the centralized twin `{comparison.baseline}` "
        "on the same partitions, as written by `fedgen compare` from the runs' own files (never by hand). "
        "How the metrics are measured is on the [Compare overview]("
        + layout.link(compare_page_path(family), "compare/index.md")
        + ").\n\n"
        + compare_body(docs_dir, family)
    )
