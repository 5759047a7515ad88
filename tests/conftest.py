"""Shared fixtures: a small, fictional catalogue whose facets the query tests know exactly."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def make_entry(paper_id: str, **changes: Any) -> dict[str, Any]:
    """A valid entry for a fictional paper; ``changes`` replace top-level fields (dicts are merged one level)."""
    entry: dict[str, Any] = {
        "id": paper_id,
        "title": f"Fictional paper {paper_id}",
        "authors": ["Ada Tester", "Bo Example"],
        "year": int(paper_id[-4:]),
        "venue": None,
        "links": {},
        "strand": "generation",
        "also_strands": [],
        "model_types": ["gan"],
        "fl_setting": {"partitioning": "horizontal"},
        "aggregation": {"method": "parameter-averaging", "shared": ["generator-parameters"], "description": "FedAvg."},
        "privacy": {"mechanisms": ["none"]},
        "threat_model": {"adversary": "none"},
        "data": {"modalities": ["image"], "datasets": ["MNIST"]},
        "summary": "A fictional paper for tests.",
        "verification": {"status": "unverified", "note": "test fixture"},
    }
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(entry.get(key), dict):
            merged = copy.deepcopy(entry[key])
            merged.update(value)
            entry[key] = merged
        else:
            entry[key] = value
    return entry


TOY_ENTRIES = [
    make_entry("alpha-gan-2019", links={"arxiv": "1901.00001", "code": "https://example.org/alpha"}),
    make_entry(
        "beta-dp-2021",
        model_types=["gan", "cgan"],
        privacy={"mechanisms": ["dp-sgd-local"], "dp": {"level": "record", "epsilon": 1, "delta": 1e-5}},
        venue="Proceedings of the Toy Conference 2021",
        links={"doi": "10.1234/beta.2021"},
    ),
    make_entry(
        "gamma-diffusion-2023",
        model_types=["diffusion"],
        strand="heterogeneity",
        also_strands=["generation"],
        fl_setting={"partitioning": "horizontal", "one_shot": True},
        aggregation={"method": "generator-upload", "shared": ["generative-model"], "description": "One-shot upload."},
        data={"modalities": ["image", "medical-image"], "datasets": ["Toy-MRI"]},
        summary="Clients upload diffusion models once; a heterogeneity fix.",
        venue="Journal of Toy Learning",
    ),
    make_entry(
        "delta-attack-2022",
        strand="attack",
        threat_model={"adversary": "honest-but-curious-server", "capabilities": ["observes-updates"]},
        authors=["Zed Curious"],
        links={"arxiv": "2202.00002"},
        implementation={"id": "toy-impl", "preset": "delta", "status": "available", "fidelity": "adapted"},
    ),
    make_entry(
        "epsilon-lm-2024",
        model_types=["llm"],
        privacy={"mechanisms": ["client-level-dp", "secure-aggregation"]},
        data={"modalities": ["text"], "datasets": []},
        implementation={"id": "planned-impl", "preset": "epsilon-lm-2024", "status": "planned"},
    ),
]


def write_catalog(root: Path, entries: list[dict[str, Any]]) -> Path:
    papers = root / "papers"
    papers.mkdir(parents=True, exist_ok=True)
    for entry in entries:
        (papers / f"{entry['id']}.yaml").write_text(yaml.safe_dump(entry, sort_keys=False), encoding="utf-8")
    return root


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep the parse cache (and model caches) of test runs out of the user's ~/.cache."""
    import os

    os.environ["FEDGEN_CACHE"] = str(tmp_path_factory.mktemp("fedgen-cache"))


@pytest.fixture
def toy_catalog_path(tmp_path: Path) -> Path:
    return write_catalog(tmp_path / "catalog", TOY_ENTRIES)


@pytest.fixture
def toy_catalog(toy_catalog_path: Path):
    from fedgen_registry.catalog import load_catalog

    return load_catalog(toy_catalog_path, check_implementations=False)
