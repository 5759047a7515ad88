"""Engines: the same FedAvg-GAN run on the local engine and on Flower's simulation runtime, in one process.

Both go through ``fedgen_registry.runs.runner.execute`` with the same resolved config, so each side includes
what a user waits for: building the algorithm, the rounds, the final evaluation, and, for Flower, Ray's
start-up and shut-down, one actor per CPU and the records every message is encoded into. The rounds
alone (the sum of ``history.jsonl``'s per-round seconds) are reported too, since start-up is a fixed
cost that longer runs amortise. Runs alternate (local, flower, local, ...) so machine load hits both
alike; medians are reported. The final parameters of both engines are checked to be identical.

    .venv/bin/python bench/bench_engines.py --rounds 20 --clients 10 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from fedgen_registry.runs.runner import RunContext, execute, resolve


def run_once(engine: str, settings: dict[str, object], folder: Path) -> tuple[float, float, float]:
    """Seconds of the whole run, of its rounds, and of its rounds after the first (Flower's nodes are warm)."""
    resolved = resolve("fedavg-gan", settings, preset="smoke")
    started = time.perf_counter()
    execute(resolved, RunContext(run_dir=folder, engine=engine, quiet=True))
    wall = time.perf_counter() - started
    rounds = [json.loads(line)["seconds"] for line in (folder / "history.jsonl").read_text().splitlines()]
    return wall, sum(rounds), sum(rounds[1:])


def final_server_state(folder: Path) -> dict[str, dict[str, torch.Tensor]]:
    return torch.load(folder / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)["state"]["server"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--local-steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    settings = {"rounds": args.rounds, "clients": args.clients, "local_steps": args.local_steps}
    times: dict[str, list[tuple[float, float, float]]] = {"local": [], "flower": []}
    with tempfile.TemporaryDirectory() as scratch:
        execute(  # warm-up: discovery, dataset and metric caches, so neither side pays them
            resolve("fedavg-gan", {**settings, "rounds": 1}, preset="smoke"),
            RunContext(run_dir=Path(scratch) / "warm-up", quiet=True),
        )
        for repeat in range(args.repeats):
            for engine in times:
                times[engine].append(run_once(engine, settings, Path(scratch) / f"{engine}-{repeat}"))
        local, flower = (final_server_state(Path(scratch) / f"{engine}-0") for engine in ("local", "flower"))
        identical = all(torch.equal(local[net][k], flower[net][k]) for net in local for k in local[net])
    labels = ("whole run", "rounds", "rounds 2..R")
    medians = {engine: [statistics.median(t[i] for t in runs) for i in range(3)] for engine, runs in times.items()}
    print(f"fedavg-gan smoke: {args.rounds} rounds, {args.clients} clients x {args.local_steps} steps")
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; medians of {args.repeats} run(s)")
    for engine, values in medians.items():
        print(
            f"{engine:>6}: " + ", ".join(f"{label} {value:.2f} s" for label, value in zip(labels, values, strict=True))
        )
    ratios = [f / loc for f, loc in zip(medians["flower"], medians["local"], strict=True)]
    print("ratio flower / local: " + ", ".join(f"{label} {r:.2f}" for label, r in zip(labels, ratios, strict=True)))
    print(f"final parameters identical on both engines: {identical}")


if __name__ == "__main__":
    main()
