"""Write every generated page and chart into the docs folder, replacing what the previous build wrote.

Generated pages live beside hand-written ones (their place is their address, see
:mod:`fedgen_registry.sitegen.layout`), so the generator keeps a manifest of the files it wrote. Each build
first removes the files of the last manifest, so a paper deleted from the catalogue loses its page instead
of leaving a stale one behind, and then refuses to write over any file it did not write itself: a
hand-written page stays the author's.
"""

from __future__ import annotations

from pathlib import Path

from fedgen_registry.catalog.query import Catalog
from fedgen_registry.runs.compare import FAMILIES
from fedgen_registry.sitegen import layout
from fedgen_registry.sitegen.catalogue import catalogue_page
from fedgen_registry.sitegen.compare import compare_page
from fedgen_registry.sitegen.exports import exports_file
from fedgen_registry.sitegen.glossary import glossary_page
from fedgen_registry.sitegen.home import home_snippet
from fedgen_registry.sitegen.paper import paper_page
from fedgen_registry.sitegen.runs import load_runs


def _remove_previous(docs_dir: Path) -> None:
    """Delete the files the last build listed, and the folders that leaves empty."""
    manifest = docs_dir / layout.MANIFEST
    if not manifest.is_file():
        return
    for relative in manifest.read_text(encoding="utf-8").splitlines():
        path = docs_dir / relative
        path.unlink(missing_ok=True)
        for folder in path.parents:
            if folder == docs_dir or not folder.is_dir() or any(folder.iterdir()):
                break
            folder.rmdir()
    manifest.unlink()


def _write(docs_dir: Path, relative: str, text: str) -> Path:
    path = docs_dir / relative
    if path.exists():
        raise FileExistsError(
            f"{path} is not a file the site generator wrote, and it would be replaced by a generated page: "
            "move it, or delete it if it is an old build's output"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def generate(catalog: Catalog, docs_dir: Path) -> list[Path]:
    """Generate the catalogue's pages into ``docs_dir`` (the MkDocs ``docs_dir``); return the files written."""
    _remove_previous(docs_dir)
    written: list[Path] = []
    try:
        written.append(_write(docs_dir, layout.HOME_SNIPPET, home_snippet(catalog, docs_dir)))
        written.append(_write(docs_dir, layout.CATALOGUE, catalogue_page(catalog)))
        written.append(_write(docs_dir, layout.CATALOGUE_EXPORTS, exports_file(catalog)))
        written.append(_write(docs_dir, layout.GLOSSARY, glossary_page(catalog)))
        for family in FAMILIES:
            written.append(_write(docs_dir, layout.compare_page(family), compare_page(docs_dir, family, catalog)))
        runs = load_runs(docs_dir)
        for paper in catalog:
            written.append(
                _write(docs_dir, layout.paper_page(paper.id), paper_page(paper, catalog, runs.get(paper.id)))
            )
    finally:  # even a failed build lists what it wrote, so the next one can remove it
        written += sorted((docs_dir / layout.CHARTS).glob("*.png"))
        listing = "".join(f"{path.relative_to(docs_dir).as_posix()}\n" for path in written)
        (docs_dir / layout.MANIFEST).write_text(listing, encoding="utf-8")
    return written
