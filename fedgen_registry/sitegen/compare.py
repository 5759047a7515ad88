"""The cached ``fedgen compare`` results as a snippet that the hand-written ``compare/index.md`` includes.

The comparison takes minutes, so the site never runs it: ``fedgen compare --results site/compare``
caches ``gan.json`` and ``gan.png`` there and this module renders the JSON with the same function the
command uses. Without a cache the snippet says how to make one, so the page builds either way.
"""

from __future__ import annotations

import json
from pathlib import Path

from fedgen_registry.runs.compare import FAMILIES, markdown_table
from fedgen_registry.sitegen.layout import GENERATED

RESULTS_STEM = FAMILIES["gan"].results_stem
COMPARE_FOLDER = "compare"
COMPARE_SNIPPET = f"{GENERATED}/snippets/compare-{RESULTS_STEM}.md"
MISSING = (
    "No comparison is cached yet. Run `fedgen compare --out runs/compare --results site/compare` "
    "to produce `site/compare/gan.json` and the sample figure, then rebuild the site.\n"
)


def compare_snippet(docs_dir: Path) -> str:
    """The comparison table (and figure) from ``<docs>/compare/gan.json``, or a note when there is none."""
    folder = docs_dir / COMPARE_FOLDER
    results_file = folder / f"{RESULTS_STEM}.json"
    if not results_file.exists():
        return MISSING
    figure = f"{RESULTS_STEM}.png"
    results = json.loads(results_file.read_text(encoding="utf-8"))
    return markdown_table(results, figure if (folder / figure).exists() else None)
