"""The fedgen command: output formats, exit codes, one-line errors, help that teaches."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import REPO
from fedgen_registry.cli import main


@pytest.fixture
def cli(toy_catalog_path, monkeypatch):
    import fedgen_registry.index
    import fedgen_registry.runs.runner
    from test_registry import make_registry

    monkeypatch.setenv("FEDGEN_CATALOG", str(toy_catalog_path))
    toy_registry = make_registry()
    monkeypatch.setattr(fedgen_registry.index, "declared_ids", lambda root=None: set(toy_registry.ids()))
    monkeypatch.setattr(fedgen_registry.runs.runner, "REGISTRY", toy_registry)
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args))


def test_list_filters_match_the_library(cli, toy_catalog) -> None:
    result = cli("list", "--model-type", "gan", "--model-type", "llm", "--year", "2021..", "--format", "ids")
    assert result.exit_code == 0, result.output
    expected = [p.id for p in toy_catalog.filter(model_type=["gan", "llm"], year=(2021, None))]
    assert result.output.split() == expected == ["beta-dp-2021", "delta-attack-2022", "epsilon-lm-2024"]


def test_list_json_and_csv(cli) -> None:
    rows = json.loads(cli("list", "--privacy", "dp-sgd-local", "--format", "json").output)
    assert [r["id"] for r in rows] == ["beta-dp-2021"] and rows[0]["model_types"] == ["gan", "cgan"]
    table = list(csv.DictReader(io.StringIO(cli("list", "--code-available", "--format", "csv").output)))
    assert [r["id"] for r in table] == ["alpha-gan-2019"]


def test_list_table_shows_count_and_planned(cli) -> None:
    result = cli("list")
    assert "5 paper(s)" in result.output and "planned" in result.output


def test_bad_facet_value_is_a_usage_error(cli) -> None:
    result = cli("list", "--model-type", "difusion")
    assert result.exit_code == 2 and "'difusion' is not one of" in result.output


def test_bad_year_range(cli) -> None:
    result = cli("list", "--year", "twenty")
    assert result.exit_code == 2 and "START..END" in result.output


def test_show_text_and_json(cli) -> None:
    text = cli("show", "delta-attack-2022").output
    assert "honest-but-curious-server" in text and "fedgen run delta-attack-2022" in text
    data = json.loads(cli("show", "beta-dp-2021", "--format", "json").output)
    assert data["privacy"]["dp"]["epsilon"] == 1.0 and data["code_available"] is False


def test_unknown_id_exits_2_with_suggestion(cli) -> None:
    result = cli("show", "beta-dp-2020")
    assert result.exit_code == 2
    assert "unknown paper id 'beta-dp-2020'; did you mean 'beta-dp-2021'?" in result.output
    assert "Traceback" not in result.output


def test_cite_keeps_requested_order(cli) -> None:
    out = cli("cite", "gamma-diffusion-2023", "alpha-gan-2019").output
    assert out.index("@article{gamma-diffusion-2023") < out.index("@misc{alpha-gan-2019")
    assert cli("cite").exit_code == 2
    assert cli("cite", "--all").output.count("\n@") == 4  # five entries, four separators


def test_schema_is_json(cli) -> None:
    schema = json.loads(cli("schema").output)
    assert schema["title"] == "fedgen catalogue entry" and "verification" in schema["required"]


def test_run_planned_is_a_clear_error(cli) -> None:
    result = cli("run", "epsilon-lm-2024")
    assert result.exit_code == 1 and "planned but not available" in result.output


def test_run_dispatches_and_reports_the_run_directory(cli, tmp_path) -> None:
    result = cli("run", "delta-attack-2022", "--set", "rounds=3", "--out", str(tmp_path / "r"))
    assert result.exit_code == 0, result.output
    assert '"rounds_run": 3' in result.output and f"run directory: {tmp_path / 'r'}" in result.output
    dry = json.loads(cli("run", "delta-attack-2022", "--dry-run").output)
    assert dry["preset"] == "delta" and dry["config"]["data"]["alpha"] == 0.5


def test_run_bad_set_syntax(cli) -> None:
    result = cli("run", "delta-attack-2022", "--set", "rounds")
    assert result.exit_code == 1 and "--set expects key=value" in result.output


def test_every_command_has_help_with_an_example() -> None:
    runner = CliRunner()
    for command in ("list", "show", "cite", "validate", "schema", "run"):
        result = runner.invoke(main, [command, "--help"])
        assert result.exit_code == 0
        assert "fedgen " + command in result.output or "Example" in result.output, command


def test_validate_packaged_catalogue_subprocess() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fedgen_registry", "validate"], capture_output=True, text=True, cwd=REPO
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert result.stdout.startswith("ok: ")


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (["clients=2000"], "clients=2000 is more than the 1437 training rows of digits can serve"),
        (["clients=1000", "data.partition=dirichlet"], "data.min_size=2 rows, so clients can be at most 718"),
        (["clients=800", "data.partition=shards"], "so clients can be at most 718"),
        (["clients=12", "clients_per_round=20"], "clients_per_round=20 is more than clients=12; at most 12"),
    ],
)
def test_a_federation_the_data_cannot_serve_is_refused_in_one_line_before_training(
    tmp_path, settings, expected
) -> None:
    """The limit is named and given; nothing is trained and no run directory fills up (issue 15's first cases)."""
    arguments = ["run", "fedavg-gan", "--preset", "smoke", "-q", "--out", str(tmp_path / "run")]
    for item in settings:
        arguments += ["--set", item]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], result.output
    assert not (tmp_path / "run" / "history.jsonl").exists()


def test_an_unknown_federation_is_refused_with_the_known_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config.toml").write_text(
        '[superlink]\ndefault = "local"\n[superlink.local]\naddress = "127.0.0.1:9093"\n'
    )
    monkeypatch.setenv("FLWR_HOME", str(tmp_path))
    result = CliRunner().invoke(
        main, ["run", "fedavg-gan", "--engine", "flower", "--federation", "locl", "--out", str(tmp_path / "r")]
    )
    assert result.exit_code != 0
    line = result.output.strip()
    assert "known: local" in line and "did you mean 'local'" in line and len(line.splitlines()) == 1, line
    assert not (tmp_path / "r").exists()  # refused before anything was written
