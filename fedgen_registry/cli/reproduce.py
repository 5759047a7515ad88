"""The ``reproduce`` command: decide implementations' headline claims and check them against the stored results."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from fedgen_registry.cli.shell import fail, guard


@click.command("reproduce")
@click.argument("ids", nargs=-1, metavar="[ID]...")
@click.option("--all", "everything", is_flag=True, help="Every registered implementation that declares a claim.")
@click.option("--family", help="Every implementation of this registry family (gan, vae, diffusion, ...).")
@click.option("--seeds", type=int, multiple=True, help="Seeds to run (repeat; default: the claim's, >= 3).")
@click.option("--record", is_flag=True, help="Store the fresh result as the expected one (catalog/reproductions/).")
@click.option("--out", type=click.Path(file_okay=False), default="runs/reproduce", show_default=True)
@click.option(
    "--stored",
    type=click.Path(file_okay=False),
    help="Catalogue root holding reproductions/ (default: the catalogue's).",
)
@guard
def reproduce_command(
    ids: Sequence[str],
    everything: bool,
    family: str | None,
    seeds: Sequence[int],
    record: bool,
    out: str,
    stored: str | None,
) -> None:
    """Run a paper's headline claim and say reproduced, not reproduced or not checkable here.

    An ID is a paper id or an implementation id. Each claim is a set of runs (an implementation at a
    preset, usually `quality`) repeated over seeds, and comparisons of their seed means. The fresh numbers
    are then held against the stored ones: a metric further from its stored mean than the claim's
    tolerance is reported as drift, and the command exits with status 1. Finished runs under --out are
    reread, interrupted ones resume; delete the folder to run afresh.

    \b
    Examples:
      fedgen reproduce md-gan-2018
      fedgen reproduce fedavg-gan --seeds 0 --seeds 1 --seeds 2
      fedgen reproduce --family vae --record
      fedgen list --reproduction not-reproduced
    """
    from fedgen_registry.catalog import default_catalog_path
    from fedgen_registry.catalog.claims import drift
    from fedgen_registry.catalog.reproductions import load_stored, save_stored
    from fedgen_registry.registry import get_implementation, list_implementations
    from fedgen_registry.runs.reproduce import RunCache, decide, implementation_of, report_lines

    chosen = [implementation_of(i) for i in ids]
    if everything or family:
        chosen += [i for i in list_implementations() if family is None or get_implementation(i).family == family]
    if not chosen:
        fail("name an implementation or paper id, --family or --all (see fedgen reproduce --help)", 2)
    root = Path(stored) if stored else default_catalog_path()
    cache = RunCache(Path(out), log=lambda line: click.echo(line, err=True))
    drifted = 0
    for implementation in dict.fromkeys(chosen):
        claim = get_implementation(implementation).claim
        if claim is None:
            click.echo(f"{implementation}: declares no claim yet")
            continue
        click.echo(f"reproducing {implementation} ...", err=True)
        result = decide(implementation, claim, cache, tuple(seeds) or None)
        click.echo("\n".join(report_lines(result)))
        previous = load_stored(root, implementation)
        if record:
            click.echo(f"  recorded: {save_stored(root, result)}")
        elif previous is None:
            click.echo("  stored: none yet (record one with --record)")
        elif not previous.matches(claim):
            click.echo("  stored: recorded for another version of the claim; record again with --record")
        else:
            lines = drift(claim, result, previous)
            drifted += bool(lines)
            click.echo(
                "  stored: matches within tolerance" if not lines else "  stored: DRIFTED\n    " + "\n    ".join(lines)
            )
    if drifted:
        fail(f"{drifted} claim(s) drifted from their stored results")


COMMANDS = (reproduce_command,)
