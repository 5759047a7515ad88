"""``fedgen reproduce`` runs a claim's runs once per seed, rereads finished runs, records a result and
reports drift from it with a failing exit status."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fedgen_registry.catalog.claims import Check, Claim, ClaimRun
from fedgen_registry.catalog.reproductions import load_stored, save_stored
from fedgen_registry.cli import main
from fedgen_registry.registry import REGISTRY, get_implementation
from fedgen_registry.runs.reproduce import RunCache, decide, run_folder

TINY = {"rounds": 1, "local_steps": 1, "eval.samples": 64}
FEDAVG = ClaimRun(implementation="fedavg-gan", preset="smoke", overrides=TINY)
CENTRAL = ClaimRun(implementation="centralized-gan", preset="smoke", overrides=TINY)
CLAIM = Claim(
    statement="a tiny FedAvg-GAN run stays within 100 KID of its twin and uploads under a gigabyte per client-round",
    runs={"fedavg": FEDAVG, "central": CENTRAL},
    checks=[
        Check(metric="kid", run="fedavg", op="<=", against="central", margin=100.0),
        Check(metric="bytes_up_per_client_round", run="fedavg", op="<", against=1e9),
    ],
)


@pytest.fixture
def tiny_claim(monkeypatch: pytest.MonkeyPatch) -> Claim:
    spec = get_implementation("fedavg-gan")
    monkeypatch.setitem(REGISTRY._specs, "fedavg-gan", dataclasses.replace(spec, claim=CLAIM))
    return CLAIM


def test_a_claim_is_decided_on_seed_means_and_a_shared_run_runs_once(tmp_path: Path) -> None:
    logged: list[str] = []
    cache = RunCache(tmp_path, logged.append)
    result = decide("fedavg-gan", CLAIM, cache)
    assert result.verdict.value == "reproduced"
    assert result.seeds == (0, 1, 2) and len(result.runs["fedavg"].metrics["kid"].values) == 3
    assert len(set(result.runs["fedavg"].metrics["kid"].values)) == 3  # three seeds, three runs
    decide("fedavg-gan", CLAIM, cache)
    assert len(logged) == 6  # the second claim read every run from the cache
    written = (run_folder(tmp_path, FEDAVG, 0) / "metrics.json").stat().st_mtime_ns
    again = decide("fedavg-gan", CLAIM, RunCache(tmp_path, logged.append))
    assert (run_folder(tmp_path, FEDAVG, 0) / "metrics.json").stat().st_mtime_ns == written  # reread, not rerun
    assert again.runs == result.runs


def test_the_command_records_then_reports_a_match_then_drift(tiny_claim: Claim, tmp_path: Path) -> None:
    runner, stored = CliRunner(), tmp_path / "catalogue"
    arguments = ["reproduce", "fedavg-gan", "--out", str(tmp_path / "runs"), "--stored", str(stored)]
    recorded = runner.invoke(main, [*arguments, "--record"])
    assert recorded.exit_code == 0, recorded.output
    assert "verdict: reproduced (seeds 0, 1, 2)" in recorded.output
    assert "[holds] kid(fedavg) <= kid(central) + 100" in recorded.output
    again = runner.invoke(main, arguments)
    assert again.exit_code == 0 and "stored: matches within tolerance" in again.output
    result = load_stored(stored, "fedavg-gan")
    assert result is not None
    tampered = json.loads(result.model_dump_json())
    tampered["runs"]["fedavg"]["metrics"]["kid"]["mean"] += 1.0
    save_stored(stored, type(result).model_validate(tampered))
    drifted = runner.invoke(main, arguments)
    assert drifted.exit_code == 1
    assert "DRIFTED" in drifted.output and "kid(fedavg)" in drifted.output


def test_without_an_id_the_command_says_what_to_name() -> None:
    result = CliRunner().invoke(main, ["reproduce"])
    assert result.exit_code == 2 and "--family or --all" in result.output


def test_python_reproduces_a_paper_by_its_id(tiny_claim: Claim, tmp_path: Path) -> None:
    import fedgen_registry

    result = fedgen_registry.reproduce("fed-gal-fan-liu-2020", out=tmp_path, log=lambda _: None)
    assert result.implementation == "fedavg-gan" and result.statement == tiny_claim.statement
    assert result.verdict.value == "reproduced"


def test_a_folder_left_by_other_settings_is_run_afresh_not_resumed(tmp_path: Path) -> None:
    """A preset retuned after a run (or a helper's old run copied in) must not be resumed with the new settings."""
    cache = RunCache(tmp_path, lambda line: None)
    old = ClaimRun(implementation="fedavg-gan", preset="smoke", overrides={**TINY, "rounds": 2})
    cache.get(old, 0)
    folder, moved = run_folder(tmp_path, old, 0), run_folder(tmp_path, FEDAVG, 0)
    moved.parent.mkdir(parents=True)
    folder.rename(moved)  # same folder name as the new settings would use, checkpoint of the old ones
    measured = RunCache(tmp_path, lambda line: None).get(FEDAVG, 0)
    history = (moved / "history.jsonl").read_text().splitlines()
    assert len(history) == 1 and measured["kid"] == pytest.approx(RunCache(tmp_path / "b", print).get(FEDAVG, 0)["kid"])
