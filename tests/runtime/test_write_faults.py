"""A disk that fills or a folder that turns unwritable mid-run: the run stops with one line naming the last good
checkpoint, every file written before stays whole, and --resume then finishes the run as if nothing happened."""

from __future__ import annotations

import errno
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fuzz.one_line import assert_one_line

from fedgen_registry.federation import atomic
from fedgen_registry.federation.checkpoint import load_checkpoint
from fedgen_registry.federation.local import CHECKPOINT, HISTORY
from fedgen_registry.runs import execute as execute_module
from fedgen_registry.runs.runner import RunContext, RunError, execute, resolve
from runtime.settings import FAST_EVAL

SETTINGS = {**FAST_EVAL, "rounds": 3, "clients": 2, "local_steps": 1}


def run(run_dir: Path, resume: bool = False) -> dict[str, Any]:
    resolved = resolve("fedavg-gan", SETTINGS, preset="smoke")
    return execute(resolved, RunContext(run_dir=run_dir, quiet=True, resume=resume))


def failing_on(call: int, name: str, error: OSError, real: Callable[..., Any]) -> Callable[..., Any]:
    """``os.replace``, except that its ``call``-th move onto a file called ``name`` raises ``error``."""
    calls = {"n": 0}

    def wrapper(source: Any, destination: Any) -> Any:
        if Path(destination).name == name:
            calls["n"] += 1
            if calls["n"] == call:
                raise error
        return real(source, destination)

    return wrapper


def history_lines(run_dir: Path) -> int:
    return len((run_dir / HISTORY).read_text(encoding="utf-8").splitlines())


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run(tmp_path_factory.mktemp("whole"))["metrics"]


def test_a_full_disk_at_a_checkpoint_keeps_the_last_one_and_resume_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, uninterrupted: dict[str, Any]
) -> None:
    full = OSError(errno.ENOSPC, "No space left on device")
    with monkeypatch.context() as patch:
        patch.setattr(atomic.os, "replace", failing_on(2, CHECKPOINT.name, full, atomic.os.replace))  # round 2
        with pytest.raises(RunError) as stopped:
            run(tmp_path)
    message = str(stopped.value)
    assert_one_line(stopped.value)
    assert "checkpoint of round 2" in message and "No space left on device" in message
    assert "last good checkpoint is round 1" in message and "--resume" in message
    assert load_checkpoint(tmp_path / CHECKPOINT)["round"] == 1 and history_lines(tmp_path) == 1
    assert not list(tmp_path.rglob("*.tmp"))  # the half-written file was removed
    assert run(tmp_path, resume=True)["metrics"] == uninterrupted


def test_an_unwritable_history_stops_after_the_checkpoint_and_resume_rewrites_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, uninterrupted: dict[str, Any]
) -> None:
    real_open = Path.open
    denied = {"appends": 0}

    def open_history(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if self.name == HISTORY and mode == "a":
            denied["appends"] += 1
            if denied["appends"] == 2:
                raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_open(self, mode, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(Path, "open", open_history)
        with pytest.raises(RunError) as stopped:
            run(tmp_path)
    assert_one_line(stopped.value)
    assert f"cannot append round 2 to {HISTORY}" in str(stopped.value) and "Permission denied" in str(stopped.value)
    assert load_checkpoint(tmp_path / CHECKPOINT)["round"] == 2 and history_lines(tmp_path) == 1
    assert run(tmp_path, resume=True)["metrics"] == uninterrupted
    assert [json.loads(line)["round"] for line in (tmp_path / HISTORY).read_text().splitlines()] == [1, 2, 3]


def test_a_full_disk_at_the_metrics_keeps_every_earlier_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(path: Path, text: str) -> None:
        if path.name == "metrics.json":
            raise OSError(errno.ENOSPC, "No space left on device")
        atomic.write_text_atomic(path, text)

    monkeypatch.setattr(execute_module, "write_text_atomic", full)
    with pytest.raises(RunError) as stopped:
        run(tmp_path)
    assert_one_line(stopped.value)
    assert "cannot write in" in str(stopped.value) and "No space left on device" in str(stopped.value)
    assert load_checkpoint(tmp_path / CHECKPOINT)["round"] == 3 and history_lines(tmp_path) == 3
    assert json.loads((tmp_path / "config.json").read_text())["implementation"] == "fedavg-gan"
    assert not (tmp_path / "metrics.json").exists()
