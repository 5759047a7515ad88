"""What ``flwr run`` needs to run a fedgen algorithm on a real SuperLink: an app folder and a named connection,
and :func:`run_on_federation`, behind ``fedgen run ID --engine flower --federation NAME``, which writes the
app into the run directory, submits it with ``flwr run`` and streams its output.

The app folder holds only a ``pyproject.toml``: its components point at the installed
:data:`~fedgen_registry.runs.flower.server_app` and ``client_app``, and its
``[tool.flwr.app.config]`` is the run (implementation, validated config, run directory), which Flower
hands to both apps as ``context.run_config``. fedgen must therefore be installed where the SuperLink
and the SuperNodes run their apps; start them with runtime dependency installation disabled, so
nothing is fetched.

    python -m fedgen_registry.runs.flower_deployment fedavg-gan --preset smoke --set rounds=2 \\
        --out runs/fedavg-flower --app app/
    flwr run app/ local --stream

A run whose SuperLink went away (``flwr run`` then reports the SuperLink unavailable) keeps every round
it checkpointed. Start the SuperLink with ``--database <file>`` so that, restarted, it still knows its
SuperNodes; then write the app again with ``--resume`` and run it: the ServerApp goes on from the last
checkpoint (algorithms whose clients keep no state; the others are refused in one line). Writing a fresh
app over a run directory that holds a checkpoint is refused, so a restart never overwrites a run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomli_w
import tomllib

from fedgen_registry.federation.checkpoint import CheckpointError, load_checkpoint
from fedgen_registry.federation.errors import FederationError
from fedgen_registry.federation.flower.job import FlowerRun
from fedgen_registry.federation.flower.secagg import SecAggPlusSettings
from fedgen_registry.federation.local import CHECKPOINT
from fedgen_registry.registry import ImplementationSpec
from fedgen_registry.runs.flower import check_flower_config, check_resumable
from fedgen_registry.suggest import did_you_mean

if TYPE_CHECKING:
    from fedgen_registry.runs.runner import ResolvedRun

APPS = "fedgen_registry.runs.flower"


def write_app(run: FlowerRun, folder: Path) -> Path:
    """Write the app folder for ``run``; returns its ``pyproject.toml``."""
    folder.mkdir(parents=True, exist_ok=True)
    project = {
        "project": {
            "name": "fedgen-run",
            "version": "1.0.0",
            "description": f"fedgen: {run.implementation} on Flower",
            "license": "MIT",
            "dependencies": [],
        },
        "tool": {
            "flwr": {
                "app": {
                    "publisher": "fedgen",
                    "components": {"serverapp": f"{APPS}:server_app", "clientapp": f"{APPS}:client_app"},
                    "config": run.to_run_config(),
                }
            }
        },
    }
    path = folder / "pyproject.toml"
    path.write_text(tomli_w.dumps(project), encoding="utf-8")
    return path


def checkpointed_round(run_dir: Path) -> int | None:
    """The last round checkpointed in ``run_dir`` (None when there is no checkpoint)."""
    path = run_dir / CHECKPOINT
    if not path.exists():
        return None
    try:
        return int(load_checkpoint(path, required=("round",))["round"])
    except CheckpointError as exc:
        raise FederationError(f"{path} cannot be read ({exc}); choose another --out") from None


def check_run_dir(spec: ImplementationSpec, config: object, run_dir: Path, resume: bool) -> str:
    """What the app will do with ``run_dir``, in a line; refuses a fresh app over a checkpointed run, and a resume
    that cannot be exact."""
    done = checkpointed_round(run_dir)
    if resume:
        check_resumable(spec, config, run_dir)  # type: ignore[arg-type]
        return f"the ServerApp goes on from round {done} in {run_dir}"
    if done is not None:
        raise FederationError(
            f"{run_dir} already holds round {done} of a run (its checkpoint; a run that stopped, e.g. when its "
            f"SuperLink went away); add --resume to go on from round {done + 1}, or choose another --out"
        )
    return f"the ServerApp writes {run_dir}"


def flwr_home() -> Path:
    """Where ``flwr`` keeps its connections (``$FLWR_HOME``, else ``~/.flwr``)."""
    return Path(os.environ.get("FLWR_HOME") or Path.home() / ".flwr")


def connections() -> list[str]:
    """The SuperLink connection names of ``$FLWR_HOME/config.toml``."""
    path = flwr_home() / "config.toml"
    if not path.exists():
        return []
    try:
        tables = tomllib.loads(path.read_text(encoding="utf-8")).get("superlink", {})
    except tomllib.TOMLDecodeError as exc:
        raise FederationError(f"{path} is not valid TOML ({exc})") from None
    return sorted(name for name, value in tables.items() if isinstance(value, dict))


def run_on_federation(
    resolved: ResolvedRun, run_dir: Path, federation: str, *, resume: bool, quiet: bool
) -> dict[str, Any]:
    """Run on the SuperLink named ``federation``: write the app into ``run_dir/flower-app``, ``flwr run`` it
    with its output streamed, and return ``metrics.json`` with the wall time.

    The ServerApp writes the run directory where the SuperLink runs (here, on one machine). ``flwr run``
    exits 0 even when the ServerApp raised, so success is read from the run directory: a ``metrics.json``
    written by this run.
    """
    check_flower_config(resolved.spec, resolved.config)
    known = connections()
    if federation not in known:
        nearest = did_you_mean(federation, known)
        raise FederationError(
            f"--federation {federation}: no SuperLink connection of that name in {flwr_home() / 'config.toml'} "
            f"({'known: ' + ', '.join(known) if known else 'it names none'}){nearest}; add a [superlink.{federation}] "
            "table with its address"
        )
    run_dir = run_dir.resolve()
    plan = check_run_dir(resolved.spec, resolved.config, run_dir, resume)
    manifest = json.dumps({**resolved.describe(), "engine": "flower", "federation": federation})
    run = FlowerRun.create(resolved.spec, resolved.config, str(run_dir), manifest=manifest, quiet=quiet, resume=resume)
    app = write_app(run, run_dir / "flower-app").parent
    metrics = run_dir / "metrics.json"
    started = time.time()
    if not quiet:
        print(f"submitting {resolved.spec.id} to {federation}: {plan}", file=sys.stderr, flush=True)
    command = [str(Path(sys.executable).parent / "flwr"), "run", str(app), federation, "--stream"]
    # flwr's output streams to stderr as it comes, so stdout keeps only the summary (``> summary.json`` works).
    output = subprocess.DEVNULL if quiet else sys.stderr
    status = subprocess.run(command, stdout=output, stderr=output, check=False).returncode
    if not metrics.exists() or metrics.stat().st_mtime < started:
        done = checkpointed_round(run_dir)
        where = f"round {done} is checkpointed; --resume goes on from it" if done else "no round was checkpointed"
        raise FederationError(
            f"the run on {federation} ended without metrics (flwr run exited {status}; its output says why); {where}"
        )
    return {**json.loads(metrics.read_text(encoding="utf-8")), "wall_time_s": round(time.time() - started, 3)}


def write_connection(flwr_home: Path, name: str, address: str) -> Path:
    """Add an insecure named connection ``name`` -> ``address`` to ``$FLWR_HOME/config.toml``."""
    flwr_home.mkdir(parents=True, exist_ok=True)
    path = flwr_home / "config.toml"
    entry = tomli_w.dumps({"superlink": {name: {"address": address, "insecure": True}}})
    with path.open("a", encoding="utf-8") as stream:
        stream.write("\n" + entry)
    return path


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the Flower app folder that runs one fedgen run.")
    parser.add_argument("id", help="paper id or implementation id")
    parser.add_argument("--preset")
    parser.add_argument("--set", dest="assignments", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", type=Path, help="run directory, written by the ServerApp")
    parser.add_argument("--app", type=Path, required=True, help="the app folder to write")
    parser.add_argument(
        "--secagg",
        metavar="JSON",
        help="aggregate through Flower's SecAgg+ with these settings ('{}': Flower's defaults); FedAvg-style only",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="go on from the run directory's last checkpoint (after a SuperLink restart); clients must keep no state",
    )
    args = parser.parse_args(argv)
    from fedgen_registry.runs.runner import RunError, default_run_dir, parse_assignments, resolve  # runner imports us

    try:
        resolved = resolve(args.id, parse_assignments(args.assignments), preset=args.preset)
        run_dir = (args.out or default_run_dir(resolved)).resolve()
        plan = check_run_dir(resolved.spec, resolved.config, run_dir, args.resume)
    except (FederationError, RunError) as exc:
        parser.exit(2, f"error: {exc}\n")
    manifest = json.dumps({**resolved.describe(), "engine": "flower"})
    secagg = "" if args.secagg is None else SecAggPlusSettings.model_validate_json(args.secagg).model_dump_json()
    run = FlowerRun.create(
        resolved.spec, resolved.config, str(run_dir), manifest=manifest, secagg=secagg, resume=args.resume
    )
    path = write_app(run, args.app)
    print(f"wrote {path} ({plan}); run it with: flwr run {args.app} <connection> --stream")


if __name__ == "__main__":
    main()
