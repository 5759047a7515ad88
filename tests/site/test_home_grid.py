"""The home page shows the cached FedAvg-GAN grid beside its twin, with the numbers of the same comparison."""

from __future__ import annotations

import json
from pathlib import Path

from fedgen_registry.catalog import load_catalog
from fedgen_registry.sitegen.compare import RESULTS_FOLDER
from fedgen_registry.sitegen.home import home_snippet


def row(implementation: str, kid: float) -> dict:
    return {
        "implementation": implementation,
        "partition": "iid",
        "status": "ok",
        "kid": kid,
        "kid_std": 0.001,
        "recall": 0.95,
        "recall_std": 0.01,
        "copied_fraction": 0.0,
    }


def test_the_grid_and_its_numbers_appear_only_with_a_cached_quality_comparison(tmp_path: Path) -> None:
    catalog = load_catalog()
    assert "A federated GAN that generates" not in home_snippet(catalog, tmp_path)
    cache = tmp_path / RESULTS_FOLDER
    cache.mkdir(parents=True)
    results = {
        "preset": "quality",
        "baseline": "centralized-gan",
        "reference": "fedavg-gan",
        "seeds": [0, 1, 2],
        "rows": [row("centralized-gan", 0.009), row("fedavg-gan", 0.0077)],
    }
    (cache / "gan.json").write_text(json.dumps(results), encoding="utf-8")
    (cache / "gan-reference.png").write_bytes(b"\x89PNG")
    page = home_snippet(catalog, tmp_path)
    assert "(compare/results/gan-reference.png)" in page
    assert "| `fedavg-gan` | 0.0077 ± 0.0010 | 0.9500 ± 0.0100 | 0.00 |" in page
