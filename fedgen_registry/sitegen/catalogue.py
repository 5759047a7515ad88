"""The catalogue page: one HTML table of every paper, plus the filter panel its script drives.

With JavaScript off the page is a plain, complete table. Each row carries its facet values in
``data-<facet>`` attributes (space-separated slugs, computed by the query module's ``FACETS``), its year,
its flags and its search text; ``site/assets/catalogue.js`` filters on those with the library's rules
(AND across facets, OR within one) and keeps the filter in the URL query string. The table names the
file of each paper's share of the library's exports (:mod:`fedgen_registry.sitegen.exports`), which the
script fetches and joins to download the rows shown.
"""

from __future__ import annotations

# _haystack is the text Catalog.search matches; the rows carry the same text so the page's search agrees.
from fedgen_registry.catalog.query import BOOLEAN_FACETS, FACETS, Catalog, _haystack
from fedgen_registry.catalog.schema import Paper
from fedgen_registry.sitegen import exports, layout
from fedgen_registry.sitegen.markup import attr
from fedgen_registry.sitegen.taxonomy import CATALOGUE_FACETS, CATALOGUE_FLAGS, label

PAGE = layout.CATALOGUE
TABLE_ID = "fg-catalogue"
_COLUMNS = ("Paper", "Year", "Strand", "Model types", "Aggregation", "Privacy", "Code", "Implementation")


def _flag(paper: Paper, name: str) -> str:
    return "true" if getattr(paper, name) else "false"


def _implementation(paper: Paper) -> str:
    impl = paper.implementation
    if impl is None:
        return ""
    if paper.implemented and impl.fidelity is not None:
        return f"available ({impl.fidelity.value})"
    return impl.status.value


def row(paper: Paper) -> str:
    """One ``<tr>``: every value escaped, facet values in data attributes for the script."""
    data = {name: " ".join(FACETS[name].values_of(paper)) for name in CATALOGUE_FACETS}
    data |= {name: _flag(paper, name) for name in CATALOGUE_FLAGS}
    data |= {"year": str(paper.year), "text": _haystack(paper)}
    attributes = " ".join(f'data-{name}="{attr(value)}"' for name, value in data.items())
    href = layout.html_link(PAGE, layout.paper_page(paper.id))
    authors = paper.first_author + (" et al." if len(paper.authors) > 1 else "")
    code = f'<a href="{attr(paper.links.code)}">yes</a>' if paper.links.code else "no"
    cells = [
        f'<a href="{attr(href)}">{attr(paper.title)}</a><br><small>{attr(authors)} · <code>{attr(paper.id)}</code></small>',
        str(paper.year),
        attr(", ".join(s.value for s in paper.strands)),
        attr(", ".join(m.value for m in paper.model_types)),
        attr(paper.aggregation.method.value),
        attr(", ".join(m.value for m in paper.privacy.mechanisms)),
        code,
        attr(_implementation(paper)),
    ]
    return f'<tr id="{attr(paper.id)}" {attributes}>' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _checkboxes(name: str, counts: dict[str, int]) -> str:
    facet = FACETS[name]
    order = facet.vocabulary.values() if facet.vocabulary else sorted(counts)
    boxes = [
        f'<label><input type="checkbox" name="{name}" value="{attr(value)}"> {attr(value)} '
        f'<span class="fg-count">{counts[value]}</span></label>'
        for value in order
        if counts.get(value)
    ]
    body = "".join(boxes) or "<p>none in the catalogue yet</p>"
    title = label(facet.vocabulary) if facet.vocabulary else name
    return (
        f'<details class="fg-facet" data-facet="{name}"><summary title="{attr(facet.help)}">{attr(title)}</summary>'
        f"{body}</details>"
    )


def _flag_select(name: str) -> str:
    options = '<option value="">any</option><option value="true">yes</option><option value="false">no</option>'
    title = name.replace("_", " ").capitalize()
    return (
        f'<label class="fg-flag" title="{attr(BOOLEAN_FACETS[name])}">{attr(title)} '
        f'<select name="{name}">{options}</select></label>'
    )


def filter_panel(catalog: Catalog) -> str:
    """The filter form; ``hidden`` until the script runs, since it does nothing without it."""
    counts = catalog.facets()
    years = [p.year for p in catalog]
    low, high = (min(years), max(years)) if years else (2000, 2100)
    parts = [
        '<input type="search" name="search" placeholder="Search titles, authors, summaries, datasets" '
        'aria-label="Search titles, authors, summaries and datasets">',
        f'<fieldset class="fg-years"><legend>Years</legend>'
        f'<input type="number" name="year_from" min="{low}" max="{high}" placeholder="{low}" aria-label="from year"> to '
        f'<input type="number" name="year_to" min="{low}" max="{high}" placeholder="{high}" aria-label="to year">'
        f"</fieldset>",
        *(_flag_select(name) for name in CATALOGUE_FLAGS),
        *(_checkboxes(name, counts[name]) for name in CATALOGUE_FACETS),
        '<button type="reset" class="md-button">Clear filters</button>',
    ]
    return f'<form id="fg-filters" class="fg-filters" hidden>{"".join(parts)}</form>'


def export_buttons() -> str:
    """Download buttons for the rows shown; ``hidden`` until the script runs, like the filters."""
    labels = {"bibtex": "BibTeX", "csv": "CSV", "json": "JSON"}
    buttons = "".join(
        f'<button type="button" class="md-button" data-export="{name}">{labels[name]}</button>'
        for name in exports.FORMATS
    )
    return f'<p id="fg-export" class="fg-export" hidden>Download the papers shown: {buttons}</p>'


def catalogue_page(catalog: Catalog) -> str:
    header = "".join(f'<th scope="col">{c}</th>' for c in _COLUMNS)
    rows = "\n".join(row(p) for p in catalog)
    return (
        "---\nhide:\n  - toc\n---\n\n# Catalogue\n\n"
        "Every paper of the catalogue, one row each. Filters combine with AND across facets and OR within one,"
        " like `fedgen list`; the address bar keeps the filter, so a filtered view can be shared."
        " Click a column heading to sort. The download buttons save the papers shown, in the order shown, as"
        " `Catalog.to_bibtex`, `to_csv` and `to_json` write them.\n\n"
        f"{filter_panel(catalog)}\n\n"
        f'<p id="fg-count" aria-live="polite">{len(catalog)} papers</p>\n\n'
        f"{export_buttons()}\n\n"
        f'<table id="{TABLE_ID}" class="fg-table" data-exports="{attr(layout.file_link(PAGE, layout.CATALOGUE_EXPORTS))}">\n<thead><tr>{header}</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>\n'
    )
