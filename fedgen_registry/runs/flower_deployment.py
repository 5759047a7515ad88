"""What ``flwr run`` needs to run a fedgen algorithm on a real SuperLink: an app folder and a named connection.

The app folder holds only a ``pyproject.toml``: its components point at the installed
:data:`~fedgen_registry.runs.flower.server_app` and ``client_app``, and its
``[tool.flwr.app.config]`` is the run (implementation, validated config, run directory), which Flower
hands to both apps as ``context.run_config``. fedgen must therefore be installed where the SuperLink
and the SuperNodes run their apps; start them with runtime dependency installation disabled, so
nothing is fetched.

    python -m fedgen_registry.runs.flower_deployment fedavg-gan --preset smoke --set rounds=2 \\
        --out runs/fedavg-flower --app app/
    flwr run app/ local --stream
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import tomli_w

from fedgen_registry.federation.flower.job import FlowerRun
from fedgen_registry.federation.flower.secagg import SecAggPlusSettings
from fedgen_registry.runs.runner import default_run_dir, parse_assignments, resolve

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
    args = parser.parse_args(argv)
    resolved = resolve(args.id, parse_assignments(args.assignments), preset=args.preset)
    run_dir = (args.out or default_run_dir(resolved)).resolve()
    manifest = json.dumps({**resolved.describe(), "engine": "flower"})
    secagg = "" if args.secagg is None else SecAggPlusSettings.model_validate_json(args.secagg).model_dump_json()
    run = FlowerRun.create(resolved.spec, resolved.config, str(run_dir), manifest=manifest, secagg=secagg)
    path = write_app(run, args.app)
    print(f"wrote {path}; run it with: flwr run {args.app} <connection> --stream")


if __name__ == "__main__":
    main()
