"""Fixtures for runtime tests: an isolated metrics cache, and engines built from the registered smoke presets."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from runtime.settings import FAST_EVAL


@pytest.fixture(scope="session", autouse=True)
def metrics_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh ``$FEDGEN_CACHE`` for the session, shared with subprocesses through the environment."""
    path = tmp_path_factory.mktemp("fedgen-cache")
    previous = os.environ.get("FEDGEN_CACHE")
    os.environ["FEDGEN_CACHE"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("FEDGEN_CACHE", None)
    else:
        os.environ["FEDGEN_CACHE"] = previous


@pytest.fixture
def make_engine(tmp_path: Path) -> Callable[..., Any]:
    """``make_engine("md-gan", rounds=2, observer=spy)``: a LocalEngine on the smoke preset plus overrides."""
    from fedgen_registry.federation.local import LocalEngine
    from fedgen_registry.registry import get_implementation
    from fedgen_registry.runs.runner import build_config

    def build(implementation_id: str, *, observer: Any = None, run_dir: Path | None = None, **overrides: Any) -> Any:
        spec = get_implementation(implementation_id)
        config = build_config(spec, "smoke", {**FAST_EVAL, **overrides})
        folder = run_dir or tmp_path / implementation_id
        return LocalEngine(spec.target(config, folder), folder, quiet=True, observer=observer)

    return build
