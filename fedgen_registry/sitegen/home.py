"""The home page's "field at a glance": five charts, each with alt text and its numbers in a table.

The result is a snippet that the hand-written ``index.md`` includes, so the prose around it stays
editable by hand while every number comes from the catalogue. Links are relative to ``index.md``,
the page the snippet ends up in.
"""

from __future__ import annotations

import json
from pathlib import Path

from fedgen_registry.catalog.query import Catalog
from fedgen_registry.sitegen import charts, layout, stats
from fedgen_registry.sitegen.compare import RESULTS_FOLDER
from fedgen_registry.sitegen.markup import md, table
from fedgen_registry.sitegen.urls import catalogue_filter

PAGE = layout.HOME


def _image(docs_dir: Path, name: str) -> tuple[Path, str]:
    """Where to draw an image, and the link to it from the home page."""
    relative = f"{layout.CHARTS}/{name}"
    return docs_dir / relative, layout.link(PAGE, relative)


def _tally_table(tally: stats.Tally, facet: str | None) -> str:
    rows = []
    for value, count in tally.counts.items():
        name = f"[{md(value)}]({catalogue_filter(PAGE, facet, value)})" if facet else md(value)
        rows.append([name, str(count)])
    return table([md(tally.name), "papers"], rows)


def _crosstab_table(crosstab: stats.Crosstab, totals: dict[str, int]) -> str:
    header = [md(crosstab.row_name), *(md(c) for c in crosstab.columns), "papers"]
    rows = [
        [md(row), *(str(v) for v in cells), f"**{totals[row]}**"]
        for row, cells in zip(crosstab.rows, crosstab.cells, strict=True)
    ]
    return table(header, rows)


def _section(heading: str, image_link: str, alt: str, note: str, numbers: str) -> str:
    return f"### {heading}\n\n![{md(alt)}]({image_link}){{ .fg-chart }}\n\n{note}\n\n{numbers}\n"


def _listing(counts: dict[str, int]) -> str:
    return ", ".join(f"{value} {count}" for value, count in counts.items())


def _federated_run(docs_dir: Path) -> str:
    """FedAvg-GAN's IID samples beside its centralized twin's, with their seed-mean numbers, from the cached
    quality comparison (nothing when none is cached: the site never trains)."""
    results_file = docs_dir / RESULTS_FOLDER / "gan.json"
    grid = docs_dir / RESULTS_FOLDER / "gan-reference.png"
    if not (results_file.exists() and grid.exists()):
        return ""
    results = json.loads(results_file.read_text(encoding="utf-8"))
    pair = (results.get("baseline"), results.get("reference"))
    rows = [r for r in results["rows"] if r.get("partition") == "iid" and r["implementation"] in pair]
    if results.get("preset") != "quality" or len(rows) != 2:
        return ""
    numbers = table(
        ["run", "KID", "recall", "copied fraction"],
        [
            [
                f"`{r['implementation']}`",
                *(f"{r[k]:.4f} ± {r[f'{k}_std']:.4f}" for k in ("kid", "recall")),
                f"{r['copied_fraction']:.2f}",
            ]
            for r in rows
        ],
    )
    seeds = ", ".join(map(str, results["seeds"]))
    return (
        "## A federated GAN that generates\n\n"
        f"![Samples of FedAvg-GAN (10 IID clients) and of its centralized twin]({layout.link(PAGE, f'{RESULTS_FOLDER}/{grid.name}')})"
        "{ .fg-chart }\n\n"
        "FedAvg of a GAN's generator and discriminator over 10 clients (2 a round) on the bundled digits, next to "
        f"the same GAN trained on all the rows, at the same sample budget (seed 0 shown; numbers over seeds {seeds}). "
        "`python -m fedgen_registry.demo` trains both in about a minute; "
        f"[every federated GAN side by side]({layout.link(PAGE, layout.compare_page('gan'))}).\n\n" + numbers
    )


def home_snippet(catalog: Catalog, docs_dir: Path) -> str:
    """Draw the five charts under ``docs_dir`` and return the Markdown that shows them."""
    facets = catalog.facets()
    sections = [_overview(catalog, facets), _federated_run(docs_dir)]

    per_year = stats.papers_per_year_by_model_type(catalog)
    path, link = _image(docs_dir, "papers-per-year.png")
    charts.stacked_bar_chart(per_year, path, "Papers per year, stacked by model type")
    sections.append(
        _section(
            "Papers per year, by model type",
            link,
            f"Stacked bar chart of papers per year from {per_year.rows[0]} to {per_year.rows[-1]}, "
            f"coloured by model type; the table below gives the numbers.",
            "A paper with two model types counts once in each; the last column counts papers.",
            _crosstab_table(per_year, facets["year"]),
        )
    )

    strands = stats.strand_by_model_type(catalog)
    path, link = _image(docs_dir, "strand-by-model-type.png")
    charts.heatmap(strands, path, "Strand x model type")
    sections.append(
        _section(
            "Strand x model type",
            link,
            "Heat map of papers per strand (rows) and model type (columns); the table below gives the numbers.",
            "Primary and secondary strands both count, as `fedgen list --strand` does.",
            _crosstab_table(strands, facets["strand"]),
        )
    )

    for facet, name, heading, note in (
        ("privacy", "privacy.png", "Privacy mechanisms", "A paper may combine several mechanisms."),
        ("code_available", "code-available.png", "Code released by the authors", "From the entries' `links.code`."),
    ):
        tally = stats.facet_tally(catalog, facet)
        path, link = _image(docs_dir, name)
        charts.bar_chart(tally, path, heading)
        alt = f"Bar chart of {heading.lower()}: {_listing(tally.counts)}."
        sections.append(_section(heading, link, alt, note, _tally_table(tally, facet)))

    tally = stats.implementation_tally(catalog)
    path, link = _image(docs_dir, "implementations.png")
    charts.bar_chart(tally, path, "Implementations: available vs planned")
    sections.append(
        _section(
            "Implementations: available vs planned",
            link,
            f"Bar chart of implementation status: {_listing(tally.counts)}.",
            "`available`: `fedgen run <paper-id>` runs it; `planned`: the entry names an implementation that has"
            " not landed yet; `none`: no implementation entry.",
            _tally_table(tally, None),
        )
    )
    return "\n".join(sections)


def _overview(catalog: Catalog, facets: dict[str, dict[str, int]]) -> str:
    years = list(facets["year"])
    span = f" from {years[0]} to {years[-1]}" if years else ""
    code = facets["code_available"].get("true", 0)
    implemented = facets["implemented"].get("true", 0)
    return (
        f"The catalogue holds **{len(catalog)} papers**{span}; the authors released code for {code} of them, "
        f"and {implemented} can be run with `fedgen run` today. "
        f"[Browse and filter them all]({layout.link(PAGE, layout.CATALOGUE)}).\n"
    )
