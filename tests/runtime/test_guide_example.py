"""The guide's new paper (site/guides/adding-an-implementation.md) is one file that runs as the guide says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fedgen_registry import registry
from fedgen_registry.federation.local import LocalEngine
from fedgen_registry.runs.runner import build_config
from runtime.settings import FAST_EVAL

GUIDE = Path(__file__).resolve().parents[2] / "site" / "guides" / "adding-an-implementation.md"


def guide_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    assert blocks, f"{GUIDE} has no Python example"
    return blocks[0]


def test_the_guides_paper_registers_runs_and_weighs_by_its_own_rule(monkeypatch, tmp_path) -> None:
    scratch = registry.Registry()  # the example registers here, not in the package's registry
    monkeypatch.setattr(registry, "register", scratch.register)
    namespace: dict = {"__name__": "guide_example"}
    exec(compile(guide_example(), str(GUIDE), "exec"), namespace)
    spec = scratch.get("loss-weighted-gan")
    assert set(spec.presets) == {"smoke", "loss-weighted-gan-2025"}
    config = build_config(spec, "smoke", {**FAST_EVAL, "rounds": 2, "clients": 3, "local_steps": 2})
    engine = LocalEngine(spec.target(config, tmp_path), tmp_path, quiet=True)
    engine.run()
    weights = engine.server.last_weights["generator"]
    sizes = {cid: len(engine.algorithm.parts[cid]) for cid in weights}
    by_size = {cid: n / sum(sizes.values()) for cid, n in sizes.items()}
    assert weights != pytest.approx(by_size, abs=1e-9), "the paper's rule gave plain FedAvg weights"
    assert spec.target.weighted_mean_upload is False
    assert dict(spec.target.uploads) == {"g.": "generator-parameters", "d.": "discriminator-parameters"}
