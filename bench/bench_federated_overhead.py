"""Federated overhead: FedAvg-GAN over 10 clients vs the centralized baseline, same sample visits, one run.

Both run through the same local engine (checkpoint every round, seeded calls), so the ratio measures
what federation itself costs: per-client model loading, per-client optimizers, message copies,
averaging, and a larger round state. Runs alternate (federated, centralized, federated, ...) so that
machine load hits both alike; the median of each is reported. Target: ratio <= 1.15.

    .venv/bin/python bench/bench_federated_overhead.py --rounds 20 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from fedgen_registry.federation.local import LocalEngine
from fedgen_registry.registry import get_implementation
from fedgen_registry.runs.runner import build_config


def train_seconds(implementation_id: str, settings: dict[str, int], folder: Path) -> float:
    """Wall time of the rounds alone (not start-up or the final evaluation, which both sides share)."""
    spec = get_implementation(implementation_id)
    engine = LocalEngine(spec.target(build_config(spec, None, settings), folder), folder, quiet=True)
    started = time.perf_counter()
    engine.run()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--local-steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    federated = {"rounds": args.rounds, "clients": args.clients, "local_steps": args.local_steps}
    centralized = {"rounds": args.rounds, "local_steps": args.clients * args.local_steps}
    times: dict[str, list[float]] = {"fedavg-gan": [], "centralized-gan": []}
    with tempfile.TemporaryDirectory() as scratch:
        for repeat in range(args.repeats + 1):  # the first pair warms up caches and lazy initialisation
            for name, settings in (("fedavg-gan", federated), ("centralized-gan", centralized)):
                seconds = train_seconds(name, settings, Path(scratch) / f"{name}-{repeat}")
                if repeat:
                    times[name].append(seconds)
    fed, central = statistics.median(times["fedavg-gan"]), statistics.median(times["centralized-gan"])
    visits = args.rounds * args.clients * args.local_steps
    print(f"same sample visits: {visits} D+G steps of one batch each, in {args.rounds} rounds")
    print(f"fedavg-gan ({args.clients} clients x {args.local_steps} steps): median {fed:.3f} s  {times['fedavg-gan']}")
    print(
        f"centralized-gan (1 x {args.clients * args.local_steps} steps): median {central:.3f} s  {times['centralized-gan']}"
    )
    print(f"ratio federated / centralized: {fed / central:.3f} (target <= 1.15)")


if __name__ == "__main__":
    main()
