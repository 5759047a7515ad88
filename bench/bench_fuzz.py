"""The fuzz properties of ``tests/fuzz`` at the long budget (100x CI's), with hypothesis's counts per property.

Prints, per property, the cases tried, passing, failing and invalid (from ``--hypothesis-show-statistics``)
and pytest's verdict; a failure prints hypothesis's shrunk example.

    .venv/bin/python bench/bench_fuzz.py [-k catalog]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", default=None, help="only the properties whose name matches (pytest's -k)")
    parser.add_argument("--profile", default="long", choices=["ci", "long"])
    args = parser.parse_args()
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        str(REPO / "tests" / "fuzz"),
        f"--hypothesis-profile={args.profile}",
        "--hypothesis-show-statistics",
    ]
    if args.k:
        command += ["-k", args.k]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    name = None
    for line in result.stdout.splitlines():
        if line.startswith("tests/fuzz/") and "::" in line:
            name = line.split("::")[-1].rstrip(":")
        counts = re.search(r"(\d+) passing, (\d+) failing, and (\d+) invalid", line)
        if counts and name:
            passing, failing, invalid = map(int, counts.groups())
            print(f"{name}: {passing + failing} cases ({passing} passing, {failing} failing), {invalid} invalid")
    print(result.stdout.splitlines()[-1] if result.stdout else result.stderr[-2000:])
    if result.returncode:
        print(result.stdout[-6000:])
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()
