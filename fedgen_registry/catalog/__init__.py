"""The catalogue: schema, loader and query API. Importing it never imports torch."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from fedgen_registry.catalog.loader import CatalogError, Problem, load_papers
from fedgen_registry.catalog.query import FACETS, Catalog
from fedgen_registry.catalog.reproductions import load_all
from fedgen_registry.catalog.schema import Paper

__all__ = [
    "FACETS",
    "Catalog",
    "CatalogError",
    "Paper",
    "Problem",
    "default_catalog_path",
    "load_catalog",
]


def default_catalog_path() -> Path:
    """``$FEDGEN_CATALOG``, else the repository's ``catalog/`` (source checkout), else the packaged copy."""
    override = os.environ.get("FEDGEN_CATALOG")
    if override:
        return Path(override)
    checkout = Path(__file__).resolve().parents[2] / "catalog"
    if (checkout / "papers").is_dir():
        return checkout
    return Path(str(resources.files("fedgen_registry") / "_catalog"))


def load_catalog(path: str | os.PathLike[str] | None = None, check_implementations: bool = True) -> Catalog:
    """Load and validate a catalogue (default: the packaged one); raise ``CatalogError`` listing every problem.

    ``check_implementations`` also verifies that entries marked ``available`` name an implementation that
    is declared in the implementations package (read statically, so torch is not imported).
    """
    root = Path(path) if path is not None else default_catalog_path()
    implementation_ids = None
    if check_implementations:
        from fedgen_registry.index import declared_ids

        implementation_ids = declared_ids()
    papers, problems = load_papers(root, implementation_ids)
    if problems:
        raise CatalogError(problems)
    stored = load_all(root)
    return Catalog(
        paper.with_reproduction(stored.get(paper.implementation.id)) if paper.implementation else paper
        for paper in papers
    )
