"""Each paper's share of the library's three exports, so the catalogue page can download the rows it shows.

The page's script only joins what is built here by the library's own exporters (``paper_bibtex``,
``to_csv`` over ``record``, ``to_json``), so a download of the filtered rows equals, byte for byte,
``to_bibtex``, ``to_csv`` and ``to_json`` of the same papers. ``site/assets/catalogue.js`` joins them as
the library does: BibTeX entries with ``"\\n"`` between them; the CSV header once, then the rows; JSON
elements between ``"[\\n"`` and ``"\\n]"`` with ``",\\n"`` between them, and ``"[]"`` for none.

The shares are a file of their own (``layout.CATALOGUE_EXPORTS``), fetched on the first download, rather
than part of the page: pretty-printed JSON of every entry weighs several times the table itself.
"""

from __future__ import annotations

import json

from fedgen_registry.catalog.bibtex import paper_bibtex
from fedgen_registry.catalog.export import record, to_csv, to_json
from fedgen_registry.catalog.query import Catalog
from fedgen_registry.catalog.schema import Paper

FORMATS = ("bibtex", "csv", "json")
JSON_OPEN, JSON_CLOSE = "[\n", "\n]"


def csv_header() -> str:
    """The CSV header line, which the page writes once before the rows."""
    return to_csv([])


def fragments(paper: Paper) -> dict[str, str]:
    """The paper's BibTeX entry, CSV row and JSON array element, by format."""
    return {
        "bibtex": paper_bibtex(paper),
        "csv": to_csv([record(paper)]).removeprefix(csv_header()),
        "json": to_json([paper]).removeprefix(JSON_OPEN).removesuffix(JSON_CLOSE),
    }


def exports_file(catalog: Catalog) -> str:
    """The file the page fetches: ``{"csv_header": ..., "papers": {id: {format: share}}}``."""
    shares = {"csv_header": csv_header(), "papers": {p.id: fragments(p) for p in catalog}}
    return json.dumps(shares, ensure_ascii=False, separators=(",", ":")) + "\n"
