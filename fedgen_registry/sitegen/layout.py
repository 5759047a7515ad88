"""Where each generated page lives inside the docs folder, and relative links between them.

A page's place in the docs folder is its address (MkDocs derives URLs from file paths), so generated
pages are written where readers expect them: ``catalogue.md`` -> ``/catalogue/``, ``papers/<id>.md`` ->
``/papers/<id>/``, ``compare/<family>.md`` -> ``/compare/<family>/``. They sit beside the hand-written
pages, are ignored by git (``.gitignore`` lists these places) and are rewritten on every build
(:mod:`fedgen_registry.sitegen.generate` removes what the previous build wrote). Links are written
relative to the page that holds them, as ``.md`` paths, so that MkDocs checks each one in strict mode
and rewrites it for whatever URL style the site uses.
"""

from __future__ import annotations

import posixpath

CATALOGUE = "catalogue.md"
# Each paper's share of the BibTeX, CSV and JSON exports, which the catalogue page fetches to download rows.
CATALOGUE_EXPORTS = "catalogue/exports.json"
GLOSSARY = "glossary.md"
PAPERS = "papers"
COMPARE = "compare"
# The home page's and the Compare pages' charts, drawn at build time.
CHARTS = "charts"
# Snippets are included into hand-written pages (``--8<--``) and excluded from the build on their own.
HOME_SNIPPET = "snippets/home.md"
HOME = "index.md"
# The list of files the last build wrote; a dot file, which MkDocs never builds.
MANIFEST = ".generated"


def paper_page(paper_id: str) -> str:
    return f"{PAPERS}/{paper_id}.md"


def compare_page(family: str) -> str:
    """The Compare page of a ``fedgen compare --family`` name, so the address repeats the command's word."""
    return f"{COMPARE}/{family}.md"


def link(from_page: str, to_path: str) -> str:
    """The relative path from one docs file to another (both relative to the docs folder)."""
    return posixpath.relpath(to_path, posixpath.dirname(from_page) or ".")


def url(page: str) -> str:
    """The URL path MkDocs gives a page with ``use_directory_urls`` (its default, kept in ``mkdocs.yml``)."""
    stem = page.removesuffix(".md")
    if stem == "index" or stem.endswith("/index"):
        return stem.removesuffix("index")
    return stem + "/"


def file_link(from_page: str, to_file: str) -> str:
    """A relative URL from a page to a static file (not a page), for raw HTML or a script."""
    return posixpath.relpath(to_file, url(from_page).rstrip("/") or ".")


def html_link(from_page: str, to_page: str) -> str:
    """A relative URL for raw HTML, which MkDocs neither checks nor rewrites (Markdown links use ``link``)."""
    source = url(from_page)
    target = url(to_page)
    relative = posixpath.relpath(target or ".", source.rstrip("/") or ".")
    return relative.rstrip("/") + "/" if relative != "." else "./"
