"""Start-up cost of the catalogue path, as a difference against the bare interpreter in the same run.

Prints the median wall time of ``fedgen list --format json`` and of ``python -c pass`` (subprocesses,
warm file cache), their difference (target: within 0.25 s), and the in-process time to load and
validate the whole catalogue with and without the parse cache.

    python bench/bench_cli.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FEDGEN = [sys.executable, "-m", "fedgen_registry"]


def median_wall(command: list[str], repeat: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def median_load(repeat: int, use_cache: bool) -> float:
    from fedgen_registry.catalog import default_catalog_path
    from fedgen_registry.catalog.loader import load_papers

    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        papers, problems = load_papers(default_catalog_path(), use_cache=use_cache)
        times.append(time.perf_counter() - start)
        assert papers and not problems
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "FEDGEN_CACHE": cache}
        os.environ["FEDGEN_CACHE"] = cache
        subprocess.run([*FEDGEN, "list", "--format", "json"], check=True, stdout=subprocess.DEVNULL, env=env)  # warm
        bare = median_wall([sys.executable, "-c", "pass"], args.repeat, env)
        listing = median_wall([*FEDGEN, "list", "--format", "json"], args.repeat, env)
        cold = median_wall([*FEDGEN, "list", "--format", "json"], args.repeat, {**env, "FEDGEN_NO_CACHE": "1"})
        load_cached = median_load(args.repeat, use_cache=True)
        load_uncached = median_load(args.repeat, use_cache=False)
    n = len(list((Path(__file__).resolve().parents[1] / "catalog" / "papers").glob("*.yaml")))
    print(f"python -c pass                     {bare * 1000:7.1f} ms (median of {args.repeat})")
    print(f"fedgen list --format json          {listing * 1000:7.1f} ms  (+{(listing - bare) * 1000:.1f} ms over bare)")
    print(f"  same, parse cache disabled       {cold * 1000:7.1f} ms  (+{(cold - bare) * 1000:.1f} ms over bare)")
    print(
        f"load + validate {n} entries        {load_uncached * 1000:7.1f} ms uncached, {load_cached * 1000:.1f} ms cached"
    )
    verdict = "within" if listing - bare <= 0.25 else "OVER"
    print(f"target: list within 250 ms of the bare interpreter -> {verdict}")


if __name__ == "__main__":
    main()
