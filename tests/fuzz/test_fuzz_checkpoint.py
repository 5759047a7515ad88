"""A finished run's checkpoint damaged at random (truncated, bytes overwritten, keys dropped, shapes changed) and
resumed: the run finishes as it did, or stops with one line; a refused resume changes no file on disk."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from runtime.settings import FAST_EVAL

from fedgen_registry.federation.local import CHECKPOINT
from fedgen_registry.runs.runner import RunContext, RunError, execute, resolve
from fuzz.one_line import assert_one_line

SETTINGS = {**FAST_EVAL, "rounds": 1, "clients": 2, "local_steps": 1}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("finished")
    execute(resolve("fedavg-gan", SETTINGS, preset="smoke"), RunContext(run_dir=run_dir, quiet=True))
    return run_dir


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


def truncate(data: bytes, where: float, _: bytes) -> bytes:
    return data[: int(where * len(data))]


def overwrite(data: bytes, where: float, junk: bytes) -> bytes:
    start = int(where * len(data))
    return data[:start] + junk + data[start + len(junk) :]


def reshape_first_tensor(node: Any) -> bool:
    """Replace the first tensor found in a nested state by a 3x3 one; False if there is none."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        if isinstance(value, torch.Tensor):
            node[key] = torch.zeros(3, 3)
            return True
        if reshape_first_tensor(value):
            return True
    return False


def damage_payload(path: Path, how: str, key: str) -> None:
    payload: dict[str, Any] = torch.load(path, weights_only=True)
    if how == "drop":
        payload.pop(key, None)
    elif how == "retype":
        payload[key] = "not what it was"
    else:  # one tensor of the saved state gets the wrong shape
        assert reshape_first_tensor(payload["state"])
    torch.save(payload, path)


def resume(run_dir: Path) -> None:
    execute(resolve("fedavg-gan", SETTINGS, preset="smoke"), RunContext(run_dir=run_dir, quiet=True, resume=True))


def resumed_or_refused(run_dir: Path) -> None:
    before = digests(run_dir)
    try:
        resume(run_dir)
    except RunError as exc:
        assert_one_line(exc)
        assert "cannot resume" in str(exc)
        assert digests(run_dir) == before  # a refused resume writes nothing
    else:
        assert (run_dir / "metrics.json").exists()


@given(
    damage=st.sampled_from([truncate, overwrite]),
    where=st.floats(0, 1),
    junk=st.binary(min_size=1, max_size=64),
)
def test_damaged_bytes_resume_or_are_refused_in_one_line(
    finished_run: Path, tmp_path_factory: pytest.TempPathFactory, damage: Any, where: float, junk: bytes
) -> None:
    run_dir = tmp_path_factory.mktemp("damaged")
    shutil.copytree(finished_run, run_dir, dirs_exist_ok=True)
    checkpoint = run_dir / CHECKPOINT
    checkpoint.write_bytes(damage(checkpoint.read_bytes(), where, junk))
    resumed_or_refused(run_dir)


@given(
    how=st.sampled_from(["drop", "retype", "reshape"]),
    key=st.sampled_from(["round", "settings", "state", "history", "format"]),
)
def test_a_checkpoint_of_the_wrong_shape_is_refused_in_one_line(
    finished_run: Path, tmp_path_factory: pytest.TempPathFactory, how: str, key: str
) -> None:
    run_dir = tmp_path_factory.mktemp("reshaped")
    shutil.copytree(finished_run, run_dir, dirs_exist_ok=True)
    damage_payload(run_dir / CHECKPOINT, how, key)
    before = digests(run_dir)
    with pytest.raises(RunError) as refused:
        resume(run_dir)
    assert_one_line(refused.value)
    assert digests(run_dir) == before
