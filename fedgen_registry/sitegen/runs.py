"""Smoke-run artefacts on paper pages: produced by a real run, cached in ``site/runs/``, never typed by hand.

``fedgen site runs`` runs the ``smoke`` preset of every implemented paper and keeps the files a reader
wants to see (metrics, sample grid, privacy ledger, the exact config) in ``site/runs/<paper-id>/``,
which is committed so the site builds without re-training anything. A page shows the artefacts with the
command that regenerates them; a paper without cached artefacts says so.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedgen_registry.catalog.query import Catalog

RUNS = "runs"
PRESET = "smoke"
KEPT = ("config.json", "metrics.json", "privacy.json", "samples.png", "samples.csv", "partition.png")


@dataclass(frozen=True)
class RunArtefacts:
    """What one cached smoke run left in ``site/runs/<paper-id>/`` (paths relative to the docs folder)."""

    paper_id: str
    config: dict[str, Any]
    metrics: dict[str, Any]
    privacy: dict[str, Any] | None
    images: tuple[str, ...]
    tables: tuple[str, ...]


def runs_folder(docs_dir: Path, paper_id: str) -> Path:
    return docs_dir / RUNS / paper_id


def refresh(catalog: Catalog, docs_dir: Path, paper_ids: Iterable[str] | None = None) -> list[str]:
    """Run the smoke preset of each implemented paper (or of ``paper_ids``) and cache its artefacts."""
    from fedgen_registry.runs.runner import RunContext, execute, resolve

    chosen = [catalog.get(i) for i in paper_ids] if paper_ids else list(catalog.filter(implemented=True))
    done = []
    for paper in chosen:
        resolved = resolve(paper.id, preset=PRESET, catalog=catalog)
        with tempfile.TemporaryDirectory() as scratch:
            execute(resolved, RunContext(run_dir=Path(scratch), quiet=True))
            target = runs_folder(docs_dir, paper.id)
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            for name in KEPT:
                if (Path(scratch) / name).is_file():
                    shutil.copy2(Path(scratch) / name, target / name)
        done.append(paper.id)
    return done


def load_runs(docs_dir: Path) -> dict[str, RunArtefacts]:
    """The cached runs found under ``site/runs/``, by paper id."""
    found: dict[str, RunArtefacts] = {}
    for folder in sorted((docs_dir / RUNS).glob("*/metrics.json")):
        base = folder.parent
        privacy = base / "privacy.json"
        relative = f"{RUNS}/{base.name}"
        found[base.name] = RunArtefacts(
            paper_id=base.name,
            config=json.loads((base / "config.json").read_text(encoding="utf-8")),
            metrics=json.loads(folder.read_text(encoding="utf-8")),
            privacy=json.loads(privacy.read_text(encoding="utf-8")) if privacy.is_file() else None,
            images=tuple(f"{relative}/{n}" for n in ("samples.png", "partition.png") if (base / n).is_file()),
            tables=tuple(f"{relative}/{n}" for n in ("samples.csv",) if (base / n).is_file()),
        )
    return found


def scalar_rows(data: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Flatten a JSON mapping into (dotted key, value) rows; floats keep four significant digits."""
    rows: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += scalar_rows(value, f"{name}.")
        elif isinstance(value, float):
            rows.append((name, f"{value:.4g}"))
        elif not isinstance(value, list):
            rows.append((name, str(value)))
    return rows
