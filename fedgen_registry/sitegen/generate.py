"""Write every generated page and image under ``<docs>/generated/``, replacing the previous output.

The folder is removed first, so a paper deleted from the catalogue loses its page instead of leaving a
stale one behind. Nothing outside ``generated/`` is touched: hand-written pages stay the author's.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from fedgen_registry.catalog.query import Catalog
from fedgen_registry.runs.compare import FAMILIES
from fedgen_registry.sitegen import layout
from fedgen_registry.sitegen.catalogue import catalogue_page
from fedgen_registry.sitegen.compare import compare_page, compare_page_path
from fedgen_registry.sitegen.glossary import glossary_page
from fedgen_registry.sitegen.home import home_snippet
from fedgen_registry.sitegen.paper import paper_page
from fedgen_registry.sitegen.runs import load_runs


def _write(docs_dir: Path, relative: str, text: str) -> Path:
    path = docs_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def generate(catalog: Catalog, docs_dir: Path) -> list[Path]:
    """Generate the catalogue's pages into ``docs_dir`` (the MkDocs ``docs_dir``); return the files written."""
    shutil.rmtree(docs_dir / layout.GENERATED, ignore_errors=True)
    written = [
        _write(docs_dir, layout.HOME_SNIPPET, home_snippet(catalog, docs_dir)),
        _write(docs_dir, layout.CATALOGUE, catalogue_page(catalog)),
        _write(docs_dir, layout.GLOSSARY, glossary_page(catalog)),
    ]
    written += [_write(docs_dir, compare_page_path(f), compare_page(docs_dir, f)) for f in FAMILIES]
    runs = load_runs(docs_dir)
    written += [_write(docs_dir, layout.paper_page(p.id), paper_page(p, catalog, runs.get(p.id))) for p in catalog]
    written += sorted((docs_dir / layout.IMAGES).glob("*.png"))
    return written
