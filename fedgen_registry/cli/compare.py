"""The ``compare`` command: a family's implementations side by side with its centralized baseline."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from fedgen_registry.cli.shell import guard


@click.command("compare")
@click.option("--family", default="gan", show_default=True, help="Registry family to compare.")
@click.option(
    "--preset",
    type=click.Choice(["smoke", "quality"]),
    default="smoke",
    show_default=True,
    help="smoke: short runs equalised by a probe; quality: each quality preset over --seeds (shares runs with "
    "fedgen reproduce when --out is the same folder).",
)
@click.option("--seeds", type=int, multiple=True, help="Seeds of a quality comparison (repeat; default 0, 1, 2).")
@click.option(
    "--skewed-seeds",
    type=int,
    multiple=True,
    help="Seeds of the non-IID federated runs of a quality comparison (default: --seeds).",
)
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
@guard
def compare_command(
    family: str,
    preset: str,
    seeds: Sequence[int],
    skewed_seeds: Sequence[int],
    partitions: Sequence[str],
    alpha: float,
    clients: int,
    only: Sequence[str],
    assignments: Sequence[str],
    out: str,
    results: str | None,
) -> None:
    """Run a family's implementations on the same partitions beside the centralized baseline.

    \b
    Examples:
      fedgen compare --only fedavg-gan --only md-gan --set rounds=2
      fedgen compare --preset quality --family vae --out runs/reproduce --results site/compare/results
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
    log = lambda line: click.echo(line, err=True)  # noqa: E731
    if preset == "quality":
        from fedgen_registry.runs.quality_compare import compare_quality

        outcome = compare_quality(settings, tuple(seeds) or (0, 1, 2), log, tuple(skewed_seeds) or None)
    else:
        outcome = compare(settings, log=log)
    report = settings.results_dir / f"{settings.comparison.results_stem}.md"
    click.echo(f"{len(outcome['rows'])} run(s), {len(outcome['skipped'])} skipped: {report}")


COMMANDS = (compare_command,)
