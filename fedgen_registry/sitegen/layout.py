"""Where each generated page lives inside the docs folder, and relative links between them.

Every generated file goes under ``generated/`` (ignored by git, wiped before each build). Links are
written relative to the page that holds them, as ``.md`` paths, so that MkDocs checks each one in
strict mode and rewrites it for whatever URL style the site uses.
"""

from __future__ import annotations

import posixpath

GENERATED = "generated"
CATALOGUE = f"{GENERATED}/catalogue.md"
GLOSSARY = f"{GENERATED}/glossary.md"
IMAGES = f"{GENERATED}/img"
# Snippets are included into hand-written pages (``--8<--``) and excluded from the build on their own.
HOME_SNIPPET = f"{GENERATED}/snippets/home.md"
HOME = "index.md"


def paper_page(paper_id: str) -> str:
    return f"{GENERATED}/papers/{paper_id}.md"


def link(from_page: str, to_path: str) -> str:
    """The relative path from one docs file to another (both relative to the docs folder)."""
    return posixpath.relpath(to_path, posixpath.dirname(from_page) or ".")


def url(page: str) -> str:
    """The URL path MkDocs gives a page with ``use_directory_urls`` (its default, kept in ``mkdocs.yml``)."""
    stem = page.removesuffix(".md")
    if stem == "index" or stem.endswith("/index"):
        return stem.removesuffix("index")
    return stem + "/"


def html_link(from_page: str, to_page: str) -> str:
    """A relative URL for raw HTML, which MkDocs neither checks nor rewrites (Markdown links use ``link``)."""
    source = url(from_page)
    target = url(to_page)
    relative = posixpath.relpath(target or ".", source.rstrip("/") or ".")
    return relative.rstrip("/") + "/" if relative != "." else "./"
