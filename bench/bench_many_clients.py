"""Many clients a round: FedAvg-GAN with 1,000 clients per round on digits, vectorised and looped, against
the centralized GAN for the same sample visits; wall time and peak memory, in one run.

Each side runs in a child process of its own (so its peak resident memory is its own) through the local
engine, with the same settings but for ``vectorise_clients``; the centralized GAN is one client that
takes ``clients x local_steps`` steps a round, so every side draws the same real rows (checked on the
sample meter). Wall time is split into building the clients and the rounds (checkpoints included, the
final evaluation excluded). Sides alternate over the repeats; medians are reported, as ratios against
the centralized run. Goals (issue 15): vectorised rounds <= 2x centralized, peak RSS under 4 GB.

    .venv/bin/python bench/bench_many_clients.py --clients 1000 --rounds 2 --repeats 2
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SIDES = ("vectorised", "looped", "centralized")


def settings_of(side: str, clients: int, rounds: int, local_steps: int) -> tuple[str, dict[str, Any]]:
    if side == "centralized":
        return "centralized-gan", {"rounds": rounds, "local_steps": clients * local_steps}
    return "fedavg-gan", {
        "rounds": rounds,
        "clients": clients,
        "local_steps": local_steps,
        "data.min_size": 1,
        "vectorise_clients": side == "vectorised",
    }


def run_side(side: str, clients: int, rounds: int, local_steps: int, threads: int) -> dict[str, Any]:
    """One side in this process: build the engine, run its rounds; seconds, rows drawn, peak RSS."""
    import torch

    from fedgen_registry.data.local import SampleMeter
    from fedgen_registry.federation.local import LocalEngine
    from fedgen_registry.registry import get_implementation
    from fedgen_registry.runs.runner import build_config

    implementation, settings = settings_of(side, clients, rounds, local_steps)
    spec = get_implementation(implementation)
    config = build_config(spec, "smoke", {**settings, "torch_threads": threads})
    with tempfile.TemporaryDirectory() as folder, SampleMeter().counting() as meter:
        started = time.perf_counter()
        engine = LocalEngine(spec.target(config, Path(folder)), Path(folder), quiet=True)
        built = time.perf_counter()
        engine.run()
        finished = time.perf_counter()
    return {
        "side": side,
        "build_s": built - started,
        "rounds_s": finished - built,
        "rows": meter.rows,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "torch": torch.__version__,
    }


def in_child(side: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, __file__, "--side", side, "--clients", str(args.clients), "--rounds", str(args.rounds)]
    command += ["--local-steps", str(args.local_steps), "--threads", str(args.threads)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--local-steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--skip-looped", action="store_true", help="leave out the slow one-client-at-a-time side")
    parser.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)  # a child's single side
    args = parser.parse_args()
    if args.side:
        print(json.dumps(run_side(args.side, args.clients, args.rounds, args.local_steps, args.threads)))
        return
    sides = [side for side in SIDES if not (args.skip_looped and side == "looped")]
    results: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
    for repeat in range(args.repeats):
        for side in sides if repeat % 2 == 0 else sides[::-1]:
            result = in_child(side, args)
            results[side].append(result)
            print(
                f"repeat {repeat} {side:>11}: build {result['build_s']:6.2f} s, rounds {result['rounds_s']:7.2f} s, "
                f"{result['rows']:,} rows drawn, peak RSS {result['peak_rss_mb']:,.0f} MB",
                flush=True,
            )
    rows = {result["rows"] for side in sides for result in results[side]}
    if len(rows) != 1:
        raise SystemExit(f"the sides drew different numbers of real rows: {sorted(rows)}")
    median = {
        side: {k: statistics.median(r[k] for r in results[side]) for k in ("build_s", "rounds_s")} for side in sides
    }
    central = median["centralized"]["rounds_s"]
    print(
        f"\ndigits, {args.clients} clients a round, {args.local_steps} local steps, {args.rounds} rounds, "
        f"{rows.pop():,} real-row visits per side, {args.threads} thread(s), torch {results[sides[0]][0]['torch']}"
    )
    for side in sides:
        peak = max(r["peak_rss_mb"] for r in results[side])
        print(
            f"{side:>11}: rounds {median[side]['rounds_s']:7.2f} s ({median[side]['rounds_s'] / central:5.2f}x "
            f"centralized), build {median[side]['build_s']:5.2f} s, peak RSS {peak:,.0f} MB"
        )


if __name__ == "__main__":
    main()
