"""How the catalogue's cost grows with its size: 1,000 and 10,000 synthetic valid entries against the real ones.

Synthetic entries are the real YAML entries copied with a new id and title and without links or
implementation (so the duplicate checks pass); each size lives in its own temporary folder with its own parse
cache. For each size it prints the median of: ``fedgen list --catalog DIR --format json`` (a subprocess, warm
parse cache) minus ``python -c pass`` in the same run (goal, issue 15: 1,000 entries under 0.5 s over bare
python), the in-process ``load_catalog(DIR)`` with the warm cache, and ``load_papers`` with no cache (every
file read and validated), with the cost per entry so the growth shows.

    .venv/bin/python bench/bench_catalog_growth.py [--sizes 1000 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
FEDGEN = [sys.executable, "-m", "fedgen_registry"]


def write_synthetic(folder: Path, count: int) -> None:
    """``count`` valid entries under ``folder/papers``, cycling through the real ones."""
    sources = [
        yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted((REPO / "catalog" / "papers").glob("*.yaml"))
    ]
    papers = folder / "papers"
    papers.mkdir(parents=True)
    for i in range(count):
        entry = dict(sources[i % len(sources)])
        entry["id"] = f"synthetic-{i:05d}-{entry['year']}"
        entry["title"] = f"{entry['title']} (synthetic copy {i})"
        entry["links"] = {}
        entry.pop("implementation", None)
        (papers / f"{entry['id']}.yaml").write_text(yaml.safe_dump(entry, sort_keys=False), encoding="utf-8")


def median_time(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(root: Path, count: int, repeat: int, env: dict[str, str]) -> dict[str, float]:
    from fedgen_registry.catalog import load_catalog
    from fedgen_registry.catalog.loader import load_papers

    listing = [*FEDGEN, "list", "--catalog", str(root), "--format", "json"]

    def run(command: list[str]) -> None:
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)

    run(listing)  # fills this folder's parse cache
    catalog = load_catalog(root)
    assert len(catalog) == count, (len(catalog), count)
    return {
        "bare": median_time(lambda: run([sys.executable, "-c", "pass"]), repeat),
        "list": median_time(lambda: run(listing), repeat),
        "load_warm": median_time(lambda: load_catalog(root), repeat),
        "load_cold": median_time(lambda: load_papers(root, use_cache=False), max(1, repeat // 2)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    real = len(list((REPO / "catalog" / "papers").glob("*.yaml")))
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "FEDGEN_CACHE": str(Path(scratch) / "cache")}
        os.environ["FEDGEN_CACHE"] = env["FEDGEN_CACHE"]
        rows = [("real", real, measure(REPO / "catalog", real, args.repeat, env))]
        for size in args.sizes:
            folder = Path(scratch) / f"n{size}"
            write_synthetic(folder, size)
            rows.append(("synthetic", size, measure(folder, size, args.repeat, env)))
    print(
        f"{'catalogue':>10} {'entries':>7} {'list - bare':>12} {'load (cache)':>13} {'load (no cache)':>16} {'ms/entry':>9}"
    )
    for kind, size, t in rows:
        print(
            f"{kind:>10} {size:>7} {(t['list'] - t['bare']) * 1000:>9.0f} ms {t['load_warm'] * 1000:>10.0f} ms "
            f"{t['load_cold'] * 1000:>13.0f} ms {t['load_cold'] * 1000 / size:>9.2f}"
        )


if __name__ == "__main__":
    main()
