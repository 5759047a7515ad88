"""Quality recipes: the centralized GAN and its FedAvg twin at their ``quality`` presets, over seeds, in one run.

Each run's KID, recall, memorisation (DCR ratio, copies) and wall time, mean +- std over the seeds, and the
ratios federated / centralized of wall time and of KID, runs alternating so machine load hits both alike.
Targets (issue 10): centralized KID <= 0.02 and recall >= 0.8 within 60 s on 2 cores; FedAvg KID at most
the centralized KID + 0.02 and recall at least 0.8x the centralized recall, at the same sample budget; no
sample copying a training row. The real-vs-real floor on these features is KID ~0.0035, recall ~0.96.

    .venv/bin/python bench/bench_recipes.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import fedgen_registry

PAIRS = (("centralized-gan", "fedavg-gan"),)
KEYS = ("kid", "recall", "precision", "dcr_ratio", "copied_fraction")


def one_run(implementation: str, seed: int, folder: Path) -> dict[str, float]:
    started = time.perf_counter()
    fedgen_registry.run(implementation, preset="quality", out=folder, quiet=True, seed=seed)
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    return {**{key: float(metrics[key]) for key in KEYS}, "seconds": time.perf_counter() - started}


def summary(values: list[float]) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} +- {spread:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        for central, federated in PAIRS:
            results: dict[str, list[dict[str, float]]] = {central: [], federated: []}
            for seed in args.seeds:
                for implementation in (central, federated):
                    results[implementation].append(
                        one_run(implementation, seed, Path(scratch) / f"{implementation}-{seed}")
                    )
            for implementation, runs in results.items():
                figures = ", ".join(f"{key} {summary([r[key] for r in runs])}" for key in (*KEYS, "seconds"))
                print(f"{implementation} (quality, seeds {args.seeds}): {figures}")
            kid = [statistics.mean(r["kid"] for r in results[name]) for name in (federated, central)]
            wall = [statistics.mean(r["seconds"] for r in results[name]) for name in (federated, central)]
            print(f"ratio {federated} / {central}: wall time {wall[0] / wall[1]:.2f}, KID {kid[0] / kid[1]:.2f}")


if __name__ == "__main__":
    main()
