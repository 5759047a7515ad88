"""Run commands: ``run`` (a paper or an implementation, on an engine) and ``implementations``."""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from fedgen_registry.cli.shell import guard


@click.command()
@click.argument("run_id")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE", help="Override a setting (dotted keys).")
@click.option("--preset", help="Use another named preset of the implementation (default: the paper's own).")
@click.option("--engine", type=click.Choice(["local", "flower"]), default="local", show_default=True)
@click.option(
    "--federation",
    metavar="NAME",
    help="With --engine flower: run on the real SuperLink of this flwr connection ($FLWR_HOME/config.toml) "
    "instead of simulating; the app is written into the run directory and flwr run's output is streamed.",
)
@click.option("--out", type=click.Path(file_okay=False), help="Run directory (default: runs/<id>).")
@click.option("--resume", is_flag=True, help="Continue from the last checkpoint in the run directory.")
@click.option("--dry-run", is_flag=True, help="Print the resolved implementation, preset and settings, then stop.")
@click.option(
    "--target-epsilon",
    type=click.FloatRange(min=0, min_open=True),
    metavar="E",
    help="DP implementations: set the noise multiplier so the run's epsilon (PLD, at its delta) is at most E.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@guard
def run(
    run_id: str,
    assignments: Sequence[str],
    preset: str | None,
    engine: str,
    federation: str | None,
    out: str | None,
    resume: bool,
    dry_run: bool,
    target_epsilon: float | None,
    quiet: bool,
) -> None:
    """Run a paper's reference implementation (or an implementation by its own id).

    \b
    Examples:
      fedgen run md-gan-2018 --dry-run
      fedgen run md-gan-2018 --preset smoke --set rounds=3 --set data.alpha=0.1
      fedgen run md-gan-2018 --engine flower --out runs/mdgan-flower
      fedgen run fedavg-gan --preset smoke --engine flower --federation local --out runs/fedavg-deployed
      fedgen run gs-wgan-2020 --preset smoke --target-epsilon 10
    """
    from fedgen_registry.runs.runner import RunContext, default_run_dir, execute, parse_assignments, resolve

    overrides = parse_assignments(assignments)
    if target_epsilon is None:
        resolved = resolve(run_id, overrides, preset=preset)
    else:
        from fedgen_registry.runs.calibrate import calibrate

        resolved, message = calibrate(run_id, overrides, preset, target_epsilon)
        click.echo(message, err=True)
    if dry_run:
        click.echo(json.dumps(resolved.describe(), indent=2))
        return
    run_dir = Path(out) if out else default_run_dir(resolved)
    if federation is not None:
        result = _run_on_federation(resolved, run_dir, federation, engine, resume, quiet)
    else:
        result = execute(resolved, RunContext(run_dir=run_dir, engine=engine, resume=resume, quiet=quiet))
    if result is not None:
        click.echo(json.dumps(result, indent=2, default=str))
    click.echo(f"run directory: {run_dir}")


def _run_on_federation(resolved: Any, run_dir: Path, federation: str, engine: str, resume: bool, quiet: bool) -> Any:
    """--federation: the run goes to a real SuperLink (runs/flower_deployment.py), not through an engine here."""
    from fedgen_registry.federation.errors import FederationError
    from fedgen_registry.runs.flower_deployment import run_on_federation
    from fedgen_registry.runs.runner import RunError

    if engine != "flower":
        raise RunError(f"--federation {federation} runs on a SuperLink: add --engine flower")
    try:
        summary = run_on_federation(resolved, run_dir, federation, resume=resume, quiet=quiet)
    except FederationError as exc:
        raise RunError(str(exc)) from exc
    return {**summary, "run_dir": str(run_dir)}


@click.command("implementations")
@click.argument("pattern", default="*")
@guard
def implementations_command(pattern: str) -> None:
    """List registered implementations whose id matches an fnmatch PATTERN (e.g. '*gan*')."""
    from fedgen_registry.registry import get_implementation, list_implementations

    with warnings.catch_warnings():
        # Listing imports every implementation and so their dependencies, some of which announce their own
        # future changes at import (sdmetrics' and rdt's FutureWarning, DeprecationWarning); the listing is
        # the user's output and must be ours alone.
        for category in (FutureWarning, DeprecationWarning, PendingDeprecationWarning):
            warnings.simplefilter("ignore", category)
        ids = list_implementations(pattern)
    if not ids:
        click.echo(f"no implementation matches {pattern!r}")
    for implementation_id in ids:
        spec = get_implementation(implementation_id)
        click.echo(f"{spec.id}\t{spec.family}\tpresets: {', '.join(sorted(spec.presets)) or '-'}\t{spec.summary}")


COMMANDS = (run, implementations_command)
