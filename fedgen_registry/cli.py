"""The ``fedgen`` command: a thin shell over the library (parse, call, print).

Errors are one line on stderr with a non-zero exit (2 for an unknown id or bad usage, 1 for invalid
data or a failed run); ``--debug`` shows the traceback. Rich is imported only to draw tables, so
``fedgen list --format json`` stays close to the interpreter's own start-up time.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from fedgen_registry.catalog.query import BOOLEAN_FACETS, FACETS

EXIT_INVALID = 1
EXIT_USAGE = 2


class _State:
    debug = False


def fail(message: str, code: int = EXIT_INVALID) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _guard(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the library's expected errors into one-line messages (unless --debug)."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from fedgen_registry.catalog import CatalogError, UnknownIdError
        from fedgen_registry.registry import RegistryError
        from fedgen_registry.runs.runner import RunError

        try:
            return func(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:
            if _State.debug:
                raise
            if isinstance(exc, UnknownIdError):
                fail(str(exc), EXIT_USAGE)
            if isinstance(exc, CatalogError):
                for problem in exc.problems:
                    click.echo(str(problem), err=True)
                fail(f"the catalogue has {len(exc.problems)} problem(s); run `fedgen validate` for the list")
            if isinstance(exc, (RunError, RegistryError, ValueError)):
                fail(str(exc))
            fail(f"{type(exc).__name__}: {exc} (run with --debug for the traceback)")

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("--debug", is_flag=True, help="Show Python tracebacks instead of one-line errors.")
@click.version_option(package_name="fedgen-registry", prog_name="fedgen")
def main(debug: bool) -> None:
    """fedgen: browse, query and run federated generative models.

    \b
    Examples:
      fedgen list --model-type diffusion --privacy client-level-dp
      fedgen list --strand attack --year 2022..2024 --format csv > attacks.csv
      fedgen show md-gan-2018
      fedgen cite md-gan-2018 gs-wgan-2020 >> refs.bib
      fedgen run md-gan-2018 --set rounds=3
    """
    _State.debug = debug


# ---------------------------------------------------------------------------------------------- list


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


def _catalog(path: str | None) -> Any:
    from fedgen_registry.catalog import load_catalog

    return load_catalog(path)


@main.command("list")
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
@_guard
def list_command(fmt: str, catalog_path: str | None, year: str | None, text: str | None, **facets: Any) -> None:
    """List papers, filtered by facets (AND across options, OR within one repeated option).

    \b
    Examples:
      fedgen list --model-type gan --model-type cgan --privacy dp-sgd-local
      fedgen list --strand heterogeneity --one-shot --format ids
      fedgen list --year 2023.. --code-available --format json | jq length
    """
    chosen = {k: (list(v) if isinstance(v, tuple) else v) for k, v in facets.items() if v not in ((), None)}
    papers = _catalog(catalog_path).filter(year=parse_years(year), text=text, **chosen)
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


# ---------------------------------------------------------------------------------------------- show / cite


@main.command()
@click.argument("paper_id")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "yaml", "json"]), default="text", show_default=True)
@click.option("--catalog", "catalog_path", type=click.Path(exists=True), help="Another catalogue folder.")
@_guard
def show(paper_id: str, fmt: str, catalog_path: str | None) -> None:
    """Show one paper's record: facts, taxonomy, summary and how to run it.

    \b
    Example:
      fedgen show md-gan-2018
      fedgen show md-gan-2018 --format json | jq .links
    """
    from fedgen_registry.catalog.export import entry_dict

    paper = _catalog(catalog_path).get(paper_id)
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
    else:
        grid.add_row("run", f"planned: implementation {impl.id!r}, preset {impl.preset!r}")
    console = Console()
    console.print(Panel(grid, title=f"[bold]{paper.title}[/bold]", subtitle=paper.id))
    console.print(paper.summary)


@main.command()
@click.argument("paper_ids", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Cite every paper in the catalogue.")
@click.option("--catalog", "catalog_path", type=click.Path(exists=True), help="Another catalogue folder.")
@_guard
def cite(paper_ids: Sequence[str], everything: bool, catalog_path: str | None) -> None:
    """Print BibTeX for papers (the key is the paper id).

    \b
    Examples:
      fedgen cite md-gan-2018 gs-wgan-2020 >> refs.bib
      fedgen cite --all > fedgen.bib
      fedgen list --strand attack --format ids | xargs fedgen cite
    """
    from fedgen_registry.catalog.bibtex import to_bibtex

    catalog = _catalog(catalog_path)
    if not paper_ids and not everything:
        raise click.UsageError("name at least one paper id, or pass --all")
    papers = list(catalog) if everything else [catalog.get(i) for i in paper_ids]  # the order asked for
    click.echo(to_bibtex(papers), nl=False)


# ---------------------------------------------------------------------------------------------- validate / schema


@main.command()
@click.argument("path", required=False, type=click.Path())
@_guard
def validate(path: str | None) -> None:
    """Check catalogue entries; print every problem (file: field: message) and exit 1 if there are any.

    \b
    Examples:
      fedgen validate                          # the packaged catalogue
      fedgen validate catalog/papers/new-paper-2025.yaml
    """
    from fedgen_registry.catalog import default_catalog_path
    from fedgen_registry.catalog.loader import entry_files, load_papers
    from fedgen_registry.registry import declared_ids

    root = Path(path) if path else default_catalog_path()
    papers, problems = load_papers(root, declared_ids())
    for problem in problems:
        click.echo(str(problem))
    checked = len(entry_files(root)) if root.exists() else 0
    if problems:
        fail(f"{len(problems)} problem(s) in {checked} file(s)")
    click.echo(f"ok: {len(papers)} entries valid")


@main.command()
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


# ---------------------------------------------------------------------------------------------- run


@main.command()
@click.argument("run_id")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE", help="Override a setting (dotted keys).")
@click.option("--preset", help="Use another named preset of the implementation (default: the paper's own).")
@click.option("--engine", type=click.Choice(["local", "flower"]), default="local", show_default=True)
@click.option("--out", type=click.Path(file_okay=False), help="Run directory (default: runs/<id>).")
@click.option("--resume", is_flag=True, help="Continue from the last checkpoint in the run directory.")
@click.option("--dry-run", is_flag=True, help="Print the resolved implementation, preset and settings, then stop.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@_guard
def run(
    run_id: str,
    assignments: Sequence[str],
    preset: str | None,
    engine: str,
    out: str | None,
    resume: bool,
    dry_run: bool,
    quiet: bool,
) -> None:
    """Run a paper's reference implementation (or an implementation by its own id).

    \b
    Examples:
      fedgen run md-gan-2018 --dry-run
      fedgen run md-gan-2018 --preset smoke --set rounds=3 --set data.alpha=0.1
      fedgen run md-gan-2018 --engine flower --out runs/mdgan-flower
    """
    from fedgen_registry.runs.runner import RunContext, default_run_dir, execute, parse_assignments, resolve

    resolved = resolve(run_id, parse_assignments(assignments), preset=preset)
    if dry_run:
        click.echo(json.dumps(resolved.describe(), indent=2))
        return
    run_dir = Path(out) if out else default_run_dir(resolved)
    result = execute(resolved, RunContext(run_dir=run_dir, engine=engine, resume=resume, quiet=quiet))
    if result is not None:
        click.echo(json.dumps(result, indent=2, default=str))
    click.echo(f"run directory: {run_dir}")


@main.command("implementations")
@click.argument("pattern", default="*")
@_guard
def implementations_command(pattern: str) -> None:
    """List registered implementations whose id matches an fnmatch PATTERN (e.g. '*gan*')."""
    from fedgen_registry.registry import get_implementation, list_implementations

    ids = list_implementations(pattern)
    if not ids:
        click.echo(f"no implementation matches {pattern!r}")
    for implementation_id in ids:
        spec = get_implementation(implementation_id)
        click.echo(f"{spec.id}\t{spec.family}\tpresets: {', '.join(sorted(spec.presets)) or '-'}\t{spec.summary}")


@main.group()
def site() -> None:
    """Build or serve the documentation site generated from the catalogue."""


def _site_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = (
        click.option("--out", type=click.Path(file_okay=False), default="public", show_default=True),
        click.option("--catalog", "catalog_path", type=click.Path(exists=True), help="Another catalogue folder."),
        click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Another mkdocs.yml."),
        click.option("--strict/--no-strict", default=True, show_default=True, help="Fail on any MkDocs warning."),
    )
    for option in reversed(options):
        func = option(func)
    return func


def _build_site(out: str, catalog_path: str | None, config_file: str | None, strict: bool) -> Path:
    from fedgen_registry.sitegen.build import SiteError, build_site

    try:
        report = build_site(
            _catalog(catalog_path), Path(config_file) if config_file else None, Path(out), strict=strict
        )
    except SiteError as exc:
        fail(str(exc))
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"built {report.papers} paper pages in {report.seconds:.1f} s: {report.out / 'index.html'}")
    return report.out


@site.command("build")
@_site_options
@_guard
def site_build(out: str, catalog_path: str | None, config_file: str | None, strict: bool) -> None:
    """Generate the catalogue pages into site/generated/, then run `mkdocs build` into OUT.

    \b
    Examples:
      fedgen site build                  # strict: any MkDocs warning fails the build
      fedgen site build --out /tmp/fedgen-site --no-strict
    """
    _build_site(out, catalog_path, config_file, strict)


@site.command("serve")
@_site_options
@click.option("--port", type=int, default=8000, show_default=True, help="Port on 127.0.0.1 (0: any free port).")
@_guard
def site_serve(out: str, catalog_path: str | None, config_file: str | None, strict: bool, port: int) -> None:
    """Build the site, then serve it on http://127.0.0.1:PORT/ until Ctrl-C (offline: nothing is fetched)."""
    from fedgen_registry.sitegen.serve import make_server

    server = make_server(_build_site(out, catalog_path, config_file, strict), port)
    click.echo(f"serving on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@site.command("runs")
@click.argument("paper_ids", nargs=-1)
@click.option("--catalog", "catalog_path", type=click.Path(exists=True), help="Another catalogue folder.")
@_guard
def site_runs(paper_ids: Sequence[str], catalog_path: str | None) -> None:
    """Run the smoke preset of implemented papers and cache their artefacts in site/runs/ for the paper pages.

    \b
    Examples:
      fedgen site runs                   # every implemented paper
      fedgen site runs md-gan-2018       # just one
    """
    from fedgen_registry.sitegen.build import docs_folder
    from fedgen_registry.sitegen.runs import refresh

    docs_dir = docs_folder()
    for paper_id in refresh(_catalog(catalog_path), docs_dir, paper_ids or None):
        click.echo(f"cached smoke run of {paper_id} in {docs_dir / 'runs' / paper_id}")


@main.command("compare")
@click.option("--family", default="gan", show_default=True, help="Registry family to compare.")
@click.option(
    "--partition",
    "partitions",
    multiple=True,
    type=click.Choice(["iid", "dirichlet", "shards", "quantity"]),
    help="Data split (repeat; default: iid and dirichlet).",
)
@click.option("--alpha", type=float, default=0.1, show_default=True, help="Dirichlet concentration.")
@click.option("--clients", type=int, default=10, show_default=True, help="Clients of every federated run.")
@click.option("--only", multiple=True, metavar="ID", help="Run only these implementations (and the baseline).")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE", help="Override a setting of every run.")
@click.option("--out", type=click.Path(file_okay=False), default="runs/compare", show_default=True)
@click.option("--results", type=click.Path(file_okay=False), help="Where gan.json/.md/.png go (default: --out).")
@_guard
def compare_command(
    family: str,
    partitions: Sequence[str],
    alpha: float,
    clients: int,
    only: Sequence[str],
    assignments: Sequence[str],
    out: str,
    results: str | None,
) -> None:
    """Run every implementation's smoke preset on the same partitions beside the centralized baseline.

    \b
    Examples:
      fedgen compare --only fedavg-gan --only md-gan --set rounds=2
      fedgen compare --out runs/compare --results site/compare
    """
    from fedgen_registry.runs.compare import CompareSettings, compare
    from fedgen_registry.runs.runner import parse_assignments

    settings = CompareSettings(
        out=Path(out),
        family=family,
        partitions=tuple(partitions) or ("iid", "dirichlet"),
        alpha=alpha,
        clients=clients,
        only=tuple(only),
        overrides=parse_assignments(assignments),
        results=Path(results) if results else None,
    )
    outcome = compare(settings, log=lambda line: click.echo(line, err=True))
    folder = settings.results_dir
    click.echo(f"{len(outcome['rows'])} run(s), {len(outcome['skipped'])} skipped: {folder / 'gan.md'}")
