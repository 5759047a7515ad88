"""Quality recipes: each family's centralized twin and its FedAvg algorithm at their ``quality`` presets,
over seeds, in one run.

Each run's family metrics (the Compare page's: KID, recall, precision, copied rows for images; the
family's own for tables and text), real rows drawn and wall time, mean +- std over the seeds, and the
ratios federated / centralized of wall time and of the headline metric; runs alternate so machine load
hits both alike. Targets (issue 10), images: centralized KID <= 0.02 and recall >= 0.8 within 60 s on 2
cores; FedAvg KID at most the centralized KID + 0.02 and recall at least 0.8x the centralized recall, at
the same sample budget; no sample copying a training row. The real-vs-real floor on the digits features
is KID ~0.0035, recall ~0.96.

    .venv/bin/python bench/bench_recipes.py --seeds 0 1 2 --family gan vae
    .venv/bin/python bench/bench_recipes.py --family diffusion --threads 2   # both cores for the MLP denoiser

``--threads`` sets torch's intra-op threads (``torch_threads``): results are bit-identical only for the same
count, so its figures can differ from the stored claims' one-thread runs by float rounding.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from fedgen_registry.catalog.claims import ClaimRun
from fedgen_registry.runs.compare import FAMILIES
from fedgen_registry.runs.reproduce import measure, run_folder


def summary(values: list[float]) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4g} +- {spread:.2g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--family", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads per run (default 1)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        for family in args.family:
            comparison = FAMILIES[family]
            pair = (comparison.baseline, comparison.reference)
            keys = (*comparison.metrics, "real_rows", "wall_s")
            results: dict[str, list[dict[str, float]]] = {name: [] for name in pair}
            for seed in args.seeds:
                for implementation in pair:
                    run = ClaimRun(implementation=implementation, overrides={"torch_threads": args.threads})
                    results[implementation].append(measure(run, seed, run_folder(Path(scratch), run, seed)))
            for implementation, runs in results.items():
                figures = ", ".join(f"{k} {summary([r[k] for r in runs])}" for k in keys if all(k in r for r in runs))
                print(f"{implementation} (quality, seeds {args.seeds}): {figures}")
            head = comparison.headline
            value = [statistics.mean(r[head] for r in results[name]) for name in reversed(pair)]
            wall = [statistics.mean(r["wall_s"] for r in results[name]) for name in reversed(pair)]
            print(f"ratio {pair[1]} / {pair[0]}: wall time {wall[0] / wall[1]:.2f}, {head} {value[0] / value[1]:.2f}\n")


if __name__ == "__main__":
    main()
