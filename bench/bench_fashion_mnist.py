"""Real-scale quality check: the GAN recipe, centralized and FedAvg, on the real Fashion-MNIST files.

Needs Debian's ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``) or ``--root``. Both runs
take their ``quality`` presets with the data switched to Fashion-MNIST (MLP networks on the 784 pixels;
``--set`` adds overrides) and are judged on Fashion-MNIST's own feature classifier, next to the
real-vs-real floor (1,000 training images against the test split) measured in the same run. Prints KID,
recall, precision, copied rows, wall time (mean +- std over seeds) and the federated / centralized ratios.

    .venv/bin/python bench/bench_fashion_mnist.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_recipes import summary  # the same mean +- std (bench/ is the script's folder)

from fedgen_registry.catalog.claims import ClaimRun
from fedgen_registry.data.datasets import load_split
from fedgen_registry.metrics.image import features_for, image_report
from fedgen_registry.runs.reproduce import measure, run_folder

KEYS = ("kid", "recall", "precision", "copied_fraction", "wall_s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--root", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    data = {"data.name": "fashion-mnist", "data.root": args.root}
    extra = dict(item.split("=", 1) for item in args.overrides)
    started = time.perf_counter()
    train, test = load_split("fashion-mnist", args.root)
    extractor = features_for("fashion-mnist", args.root)
    real = train.x[np.random.default_rng(0).choice(len(train), 1000, replace=False)]
    floor = image_report(real, test, extractor=extractor)
    print(
        f"feature classifier test accuracy {extractor.test_accuracy:.3f}; real-vs-real floor: KID {floor['kid']:.4f}, "
        f"recall {floor['recall']:.3f}, precision {floor['precision']:.3f} ({time.perf_counter() - started:.0f} s)"
    )
    pair = ("centralized-gan", "fedavg-gan")
    results: dict[str, list[dict[str, float]]] = {name: [] for name in pair}
    with tempfile.TemporaryDirectory() as scratch:
        for seed in args.seeds:
            for implementation in pair:
                run = ClaimRun(implementation=implementation, overrides={**data, **extra})
                results[implementation].append(measure(run, seed, run_folder(Path(scratch), run, seed)))
    for implementation, runs in results.items():
        figures = ", ".join(f"{k} {summary([r[k] for r in runs])}" for k in KEYS if all(k in r for r in runs))
        print(f"{implementation} (quality on fashion-mnist, seeds {args.seeds}): {figures}")
    mean = {name: {k: statistics.mean(r[k] for r in runs) for k in ("kid", "wall_s")} for name, runs in results.items()}
    print(
        f"ratio fedavg-gan / centralized-gan: wall time {mean['fedavg-gan']['wall_s'] / mean['centralized-gan']['wall_s']:.2f}, "
        f"KID {mean['fedavg-gan']['kid'] / mean['centralized-gan']['kid']:.2f}"
    )


if __name__ == "__main__":
    main()
