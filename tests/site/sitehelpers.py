"""Shared helpers of the site tests: build a site from a copy of the sources, once per catalogue.

Builds run in a temporary copy of ``mkdocs.yml`` and the hand-written part of ``site/`` so that tests never
touch the checkout's generated pages or ``public/``. The real catalogue is built once per test session and shared by the
strict-build test and the browser test (a build takes a few seconds).
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import shutil
import tempfile
from pathlib import Path

import pytest

from conftest import REPO
from fedgen_registry.catalog import load_catalog
from fedgen_registry.catalog.query import Catalog
from fedgen_registry.sitegen import layout
from fedgen_registry.sitegen.build import BuildReport, build_site

DOCS_EXTRA = "the docs extra is not installed (pip install -c constraints.txt -e '.[docs]')"


def require_mkdocs() -> None:
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        pytest.skip(reason=DOCS_EXTRA)


def generated_in_checkout() -> set[str]:
    """What the last ``fedgen site build`` in the checkout wrote (paths relative to ``site/``), and its list."""
    manifest = REPO / "site" / layout.MANIFEST
    if not manifest.is_file():
        return set()
    return {*manifest.read_text(encoding="utf-8").splitlines(), layout.MANIFEST}


def copy_sources(root: Path) -> Path:
    """Copy ``mkdocs.yml`` and the hand-written pages under ``root``; return the copied config file."""
    docs = REPO / "site"
    generated = generated_in_checkout()

    def ignore(folder: str, names: list[str]) -> set[str]:
        relative = Path(folder).relative_to(docs)
        return {name for name in names if (relative / name).as_posix() in generated}

    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copytree(docs, root / "site", ignore=ignore)
    return root / "mkdocs.yml"


def build_copy(catalog: Catalog, root: Path) -> BuildReport:
    return build_site(catalog, copy_sources(root), root / "public", strict=True)


@functools.cache
def real_site() -> BuildReport:
    """The real catalogue's site, built strictly once per session into a folder removed at exit."""
    root = Path(tempfile.mkdtemp(prefix="fedgen-site-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return build_copy(load_catalog(), root)
