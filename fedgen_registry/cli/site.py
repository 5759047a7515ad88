"""Site commands: ``site build``, ``site serve`` and ``site runs``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from fedgen_registry.cli.shell import fail, guard, load_catalog


@click.group()
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
            load_catalog(catalog_path), Path(config_file) if config_file else None, Path(out), strict=strict
        )
    except SiteError as exc:
        fail(str(exc))
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"built {report.papers} paper pages in {report.seconds:.1f} s: {report.out / 'index.html'}")
    return report.out


@site.command("build")
@_site_options
@guard
def site_build(out: str, catalog_path: str | None, config_file: str | None, strict: bool) -> None:
    """Generate the catalogue pages into site/ (git-ignored), then run `mkdocs build` into OUT.

    \b
    Examples:
      fedgen site build                  # strict: any MkDocs warning fails the build
      fedgen site build --out /tmp/fedgen-site --no-strict
    """
    _build_site(out, catalog_path, config_file, strict)


@site.command("serve")
@_site_options
@click.option("--port", type=int, default=8000, show_default=True, help="Port on 127.0.0.1 (0: any free port).")
@guard
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
@guard
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
    for paper_id in refresh(load_catalog(catalog_path), docs_dir, paper_ids or None):
        click.echo(f"cached smoke run of {paper_id} in {docs_dir / 'runs' / paper_id}")


COMMANDS = (site,)
