"""``fedgen compare``: one row per (implementation, partition), read from the runs' own files."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
import torch
from click.testing import CliRunner
from pydantic import BaseModel, ConfigDict

import fedgen_registry
from fedgen_registry import registry
from fedgen_registry.cli import main
from fedgen_registry.data.local import LocalData, SampleMeter
from fedgen_registry.registry import ImplementationSpec
from fedgen_registry.runs.compare import COLUMNS, Candidate, CompareSettings, budget_rounds, cell, select
from fedgen_registry.sitegen import layout
from fedgen_registry.sitegen.compare import RESULTS_FOLDER, compare_body, missing

ONLY = ("fedavg-gan", "dp-fedavg-gan")
IDS = {"centralized-gan", *ONLY}
PARTITIONS = ("iid", "dirichlet")
TINY = ("rounds=1", "eval.samples=60", "eval.kid_subsets=5", "eval.kid_subset_size=20")


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("compare")
    args = ["compare", "--out", str(out)]
    args += [f"--only={i}" for i in ONLY] + [f"--set={s}" for s in TINY]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads((out / "gan.json").read_text(encoding="utf-8")), out


def _history_bytes(run_dir: Path) -> float:
    history = [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]
    return sum(r["bytes_up"] for r in history) / sum(len(r["completed"]) for r in history)


def test_one_row_per_implementation_and_partition(compared: tuple[dict[str, Any], Path]) -> None:
    results, out = compared
    assert sorted((r["implementation"], r["partition"]) for r in results["rows"]) == sorted(
        (i, p) for i in IDS for p in PARTITIONS
    )
    assert all(r["status"] == "ok" for r in results["rows"])
    assert (out / "gan.png").exists()


def test_numbers_are_read_from_the_run_files(compared: tuple[dict[str, Any], Path]) -> None:
    results, out = compared
    for row in results["rows"]:
        run_dir = out / row["partition"] / row["implementation"]
        metrics = json.loads((run_dir / "metrics.json").read_text())
        privacy = json.loads((run_dir / "privacy.json").read_text())
        assert (row["kid"], row["kid_std"], row["rounds"]) == (metrics["kid"], metrics["kid_std"], metrics["rounds"])
        assert row["label_accuracy"] == metrics.get("label_accuracy")
        assert row["epsilon"] == privacy["epsilon"]
        assert row["bytes_up_per_client_round"] == pytest.approx(_history_bytes(run_dir))
        assert row["real_rows"] > 0
        assert row["rounds"] == 1 and "override" in row["budget"]
    private = [r for r in results["rows"] if r["implementation"] == "dp-fedavg-gan"]
    assert all(r["epsilon"] is not None and r["epsilon"] > 0 for r in private)
    central = [r for r in results["rows"] if r["implementation"] == "centralized-gan"]
    assert all(r["epsilon"] is None for r in central)


def test_precision_recall_come_from_the_runs_own_samples(compared: tuple[dict[str, Any], Path]) -> None:
    """The re-sampled generator reproduces the run's KID exactly, so precision/recall describe those samples."""
    results, _ = compared
    fedavg = [r for r in results["rows"] if r["implementation"] == "fedavg-gan"]
    for row in fedavg:
        assert row["pr_note"] is None
        assert 0 <= row["precision"] <= 1 and 0 <= row["recall"] <= 1


def _markdown_rows(text: str) -> list[list[str]]:
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in lines[1:]]


def test_markdown_agrees_with_json(compared: tuple[dict[str, Any], Path]) -> None:
    results, out = compared
    text = (out / "gan.md").read_text(encoding="utf-8")
    table = _markdown_rows(text)
    assert len(table) == len(results["rows"])
    for row, cells in zip(results["rows"], table, strict=True):
        assert cells == [cell(row, key) for key, _ in COLUMNS]
        kid = float(re.match(r"([\d.]+) ±", cells[[k for k, _ in COLUMNS].index("kid")]).group(1))  # type: ignore[union-attr]
        assert kid == pytest.approx(row["kid"], abs=5e-5)
    assert results["budget_rule"] in text


def test_site_snippet_renders_the_cached_results(compared: tuple[dict[str, Any], Path], tmp_path: Path) -> None:
    catalog = fedgen_registry.load_catalog()
    assert compare_body(tmp_path, "gan", catalog) == missing("gan")
    results, out = compared
    cache = tmp_path / RESULTS_FOLDER
    cache.mkdir(parents=True)
    (cache / "gan.json").write_text(json.dumps(results), encoding="utf-8")
    (cache / "gan.png").write_bytes((out / "gan.png").read_bytes())
    samples = layout.link(layout.compare_page("gan"), f"{RESULTS_FOLDER}/gan.png")  # relative to the page
    expected = (out / "gan.md").read_text(encoding="utf-8").replace("(gan.png)", f"({samples})")
    assert compare_body(tmp_path, "gan", catalog) == expected


class _TabularConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rounds: int = 1


def test_implementations_without_partition_settings_are_skipped_with_a_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = ImplementationSpec("toy-unpartitioned", object(), _TabularConfig, "gan", "toy", {"smoke": {}})
    real_get = registry.get_implementation
    monkeypatch.setattr(registry, "list_implementations", lambda *a, **k: ["centralized-gan", fake.id])
    monkeypatch.setattr(registry, "get_implementation", lambda i: fake if i == fake.id else real_get(i))
    candidates, skipped = select(CompareSettings(out=tmp_path))
    assert [c.implementation for c in candidates] == ["centralized-gan"]
    assert skipped == [{"implementation": fake.id, "reason": skipped[0]["reason"]}]
    assert "clients" in skipped[0]["reason"] and "data.partition" in skipped[0]["reason"]


def test_unknown_only_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no-such-gan"):
        select(CompareSettings(out=tmp_path, only=("no-such-gan",)))


def test_local_batches_count_real_rows() -> None:
    data = LocalData(torch.zeros(5, 3), torch.zeros(5, dtype=torch.long), 2)
    meter, outside = SampleMeter(), SampleMeter()
    data.batch(3)  # before any meter counts
    with meter.counting():
        data.batch(7)
        with outside.counting():  # an inner meter counts alone while it is active
            data.batch(2)
        data.batch(4)
    data.batch(5)
    assert meter.rows == 11 and outside.rows == 2


def test_rounds_are_scaled_from_a_one_round_probe_to_the_target_budget(tmp_path: Path) -> None:
    """FedAvg-GAN smoke: 10 clients x 5 local steps x batch 32 = 1600 real rows per round."""
    settings = CompareSettings(out=tmp_path, overrides={"eval.samples": 20, "eval.kid_subsets": 1})
    fedavg = next(
        c
        for c in select(CompareSettings(out=tmp_path, only=("fedavg-gan",)))[0]
        if c.implementation != "centralized-gan"
    )
    assert budget_rounds(settings, fedavg, "iid", 3 * 1600) == (3, "equalised (1600 rows/round)")
    assert not (tmp_path / ".probe" / "iid" / "fedavg-gan").exists()


def test_a_refused_probe_keeps_the_preset_rounds_and_says_so(tmp_path: Path) -> None:
    effgan = Candidate("effgan", 20, (), None, True)
    rounds, budget = budget_rounds(CompareSettings(out=tmp_path), effgan, "iid", 32000)
    assert rounds == 20 and budget.startswith("not equalised")


def test_every_family_with_a_comparison_selects_its_baseline_and_its_family_algorithm(tmp_path: Path) -> None:
    """Tables and text join too: the LM family has no data.name (its corpus is generated), the others must match."""
    from fedgen_registry.runs.compare import FAMILIES

    for family, comparison in FAMILIES.items():
        candidates, _ = select(CompareSettings(out=tmp_path, family=family), "quality")
        chosen = [c.implementation for c in candidates]
        assert chosen[:1] == [comparison.baseline] and comparison.reference in chosen, family


def test_a_preset_on_another_dataset_is_skipped_with_a_reason(tmp_path: Path) -> None:
    from fedgen_registry.runs.compare import FAMILIES, skip_reason

    wine = dataclasses.replace(FAMILIES["tabular-gan"], dataset="wine")
    assert "'breast-cancer', not 'wine'" in (skip_reason("fedavg-tabular-gan", wine, "quality") or "")
