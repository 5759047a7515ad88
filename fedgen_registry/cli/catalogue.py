"""Catalogue commands: ``list``, ``show``, ``cite``, ``validate`` and ``schema``.

Rich is imported only to draw tables, so ``fedgen list --format json`` stays close to the interpreter's
own start-up time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from fedgen_registry.catalog.query import BOOLEAN_FACETS, FACETS
from fedgen_registry.cli.shell import fail, guard, load_catalog


def _facet_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for name in reversed(list(FACETS)):
        facet = FACETS[name]
        choices = click.Choice(facet.vocabulary.values()) if facet.vocabulary else None
        func = click.option(
            "--" + name.replace("_", "-"),
            name,
            multiple=True,
            type=choices,
            help=f"Filter by {facet.help} (repeat for OR).",
        )(func)
    for name, help_text in reversed(list(BOOLEAN_FACETS.items())):
        flag = name.replace("_", "-")
        func = click.option(
            f"--{flag}/--no-{flag}", name, default=None, help=f"Only papers where {help_text} (or not)."
        )(func)
    return func


def parse_years(text: str | None) -> int | tuple[int | None, int | None] | None:
    """``2021`` -> 2021, ``2021..2023`` -> (2021, 2023), ``2022..`` -> (2022, None)."""
    if text is None:
        return None
    try:
        if ".." in text:
            start, end = text.split("..", 1)
            return (int(start) if start else None, int(end) if end else None)
        return int(text)
    except ValueError:
        raise click.BadParameter(f"{text!r}: use YEAR, START..END, START.. or ..END", param_hint="--year") from None


@click.command("list")
@_facet_options
@click.option(
    "--year", "year", metavar="RANGE", help="A year (2021) or an inclusive range (2021..2023, 2022.., ..2020)."
)
@click.option(
    "--search", "-s", "text", metavar="TEXT", help="Words that must all appear in title/authors/summary/datasets."
)
@click.option(
    "--format", "-f", "fmt", type=click.Choice(["table", "json", "csv", "ids"]), default="table", show_default=True
)
@click.option("--catalog", "catalog_path", type=click.Path(exists=True), help="Another catalogue folder.")
@guard
def list_command(fmt: str, catalog_path: str | None, year: str | None, text: str | None, **facets: Any) -> None:
    """List papers, filtered by facets (AND across options, OR within one repeated option).

    \b
    Examples:
      fedgen list --model-type gan --model-type cgan --privacy dp-sgd-local
      fedgen list --strand heterogeneity --one-shot --format ids
      fedgen list --year 2023.. --code-available --format json | jq length
    """
    chosen = {k: (list(v) if isinstance(v, tuple) else v) for k, v in facets.items() if v not in ((), None)}
    papers = load_catalog(catalog_path).filter(year=parse_years(year), text=text, **chosen)
    if fmt == "json":
        click.echo(json.dumps(papers.records(), indent=2, ensure_ascii=False))
    elif fmt == "csv":
        click.echo(papers.to_csv(), nl=False)
    elif fmt == "ids":
        for paper in papers:
            click.echo(paper.id)
    else:
        _print_table(papers)


def _print_table(papers: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(papers)} paper(s)", title_justify="left", expand=False)
    for column in ("id", "year", "strand", "models", "aggregation", "privacy", "code", "run"):
        table.add_column(column, overflow="fold")
    for p in papers:
        impl = p.implementation
        table.add_row(
            p.id,
            str(p.year),
            "+".join(s.value for s in p.strands),
            ", ".join(m.value for m in p.model_types),
            p.aggregation.method.value,
            ", ".join(m.value for m in p.privacy.mechanisms),
            "yes" if p.code_available else "",
            (impl.fidelity.value if impl.fidelity else "yes") if p.implemented else ("planned" if impl else ""),
        )
    Console().print(table)


@click.command()
@click.argument("paper_id")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "yaml", "json"]), default="text", show_default=True)
@click.option("--catalog", "catalog_path", type=click.Path(exists=True), help="Another catalogue folder.")
@guard
def show(paper_id: str, fmt: str, catalog_path: str | None) -> None:
    """Show one paper's record: facts, taxonomy, summary and how to run it.

    \b
    Example:
      fedgen show md-gan-2018
      fedgen show md-gan-2018 --format json | jq .links
    """
    from fedgen_registry.catalog.export import entry_dict

    paper = load_catalog(catalog_path).get(paper_id)
    data = entry_dict(paper)
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    elif fmt == "yaml":
        import yaml

        click.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100), nl=False)
    else:
        _print_paper(paper)


def _print_paper(paper: Any) -> None:
    from rich.console import Console
    from rich.panel import Panel
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    links = paper.links
    rows = [
        ("authors", ", ".join(paper.authors)),
        ("year / venue", f"{paper.year}" + (f" · {paper.venue}" if paper.venue else "")),
        ("arXiv", f"https://arxiv.org/abs/{links.arxiv}" if links.arxiv else ""),
        ("DOI", f"https://doi.org/{links.doi}" if links.doi else ""),
        ("code", links.code or "not released"),
        ("strand", " + ".join(s.value for s in paper.strands)),
        ("models", ", ".join(m.value for m in paper.model_types)),
        (
            "FL setting",
            f"{paper.fl_setting.partitioning.value}, {paper.fl_setting.topology.value}, "
            f"{paper.fl_setting.participation.value}"
            + "".join(f", {flag}" for flag in ("one_shot", "asynchronous", "personalized") if getattr(paper.fl_setting, flag)),
        ),
        ("aggregation", f"{paper.aggregation.method.value}: {paper.aggregation.description}"),
        ("shared", ", ".join(s.value for s in paper.aggregation.shared) or "-"),
        ("privacy", ", ".join(m.value for m in paper.privacy.mechanisms) + (f": {paper.privacy.note}" if paper.privacy.note else "")),
        ("threat model", paper.threat_model.adversary.value + (f": {paper.threat_model.note}" if paper.threat_model.note else "")),
        ("data", ", ".join(m.value for m in paper.data.modalities) + (f" ({', '.join(paper.data.datasets)})" if paper.data.datasets else "")),
        ("verification", paper.verification.status.value + (f": {paper.verification.note}" if paper.verification.note else "")),
    ]  # fmt: skip
    for key, value in rows:
        if value:
            grid.add_row(key, value)
    impl = paper.implementation
    if impl is None:
        grid.add_row("run", "no implementation planned")
    elif paper.implemented:
        grid.add_row(
            "run", f"fedgen run {paper.id}   ({impl.fidelity.value}; implementation {impl.id}, preset {impl.preset})"
        )
        for deviation in impl.deviations:
            grid.add_row("", f"- {deviation}")
        result = paper.reproduction_result
        claim = f"{result.statement}" if result else "no result recorded yet"
        grid.add_row("claim", f"{paper.reproduction.label}: {claim}   (fedgen reproduce {paper.id})")
    else:
        grid.add_row("run", f"planned: implementation {impl.id!r}, preset {impl.preset!r}")
    console = Console()
    console.print(Panel(grid, title=f"[bold]{paper.title}[/bold]", subtitle=paper.id))
    console.print(paper.summary)


@click.command()
@click.argument("paper_ids", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Cite every paper in the catalogue.")
@click.option("--catalog", "catalog_path", type=click.Path(exists=True), help="Another catalogue folder.")
@guard
def cite(paper_ids: Sequence[str], everything: bool, catalog_path: str | None) -> None:
    """Print BibTeX for papers (the key is the paper id).

    \b
    Examples:
      fedgen cite md-gan-2018 gs-wgan-2020 >> refs.bib
      fedgen cite --all > fedgen.bib
      fedgen list --strand attack --format ids | xargs fedgen cite
    """
    from fedgen_registry.catalog.bibtex import to_bibtex

    catalog = load_catalog(catalog_path)
    if not paper_ids and not everything:
        raise click.UsageError("name at least one paper id, or pass --all")
    papers = list(catalog) if everything else [catalog.get(i) for i in paper_ids]  # the order asked for
    click.echo(to_bibtex(papers), nl=False)


@click.command()
@click.argument("path", required=False, type=click.Path())
@guard
def validate(path: str | None) -> None:
    """Check catalogue entries; print every problem (file: field: message) and exit 1 if there are any.

    \b
    Examples:
      fedgen validate                          # the packaged catalogue
      fedgen validate catalog/papers/new-paper-2025.yaml
    """
    from fedgen_registry.catalog import default_catalog_path
    from fedgen_registry.catalog.loader import entry_files, load_papers
    from fedgen_registry.index import declared_ids

    root = Path(path) if path else default_catalog_path()
    papers, problems = load_papers(root, declared_ids())
    for problem in problems:
        click.echo(str(problem))
    checked = len(entry_files(root)) if root.exists() else 0
    if problems:
        fail(f"{len(problems)} problem(s) in {checked} file(s)")
    click.echo(f"ok: {len(papers)} entries valid")


@click.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to a file instead of stdout.")
def schema(output: str | None) -> None:
    """Print the JSON Schema of a catalogue entry (for editor validation of the YAML files).

    \b
    Example (first line of an entry in catalog/papers/):
      # yaml-language-server: $schema=../schema.json
    """
    from fedgen_registry.catalog.schema import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


COMMANDS = (list_command, show, cite, validate, schema)
