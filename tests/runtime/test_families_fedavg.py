"""FedAvg of a family: the global network is the size-weighted mean; centralized baselines match sample visits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from fedgen_registry.federation.local import Delivery
from fedgen_registry.federation.seeding import deterministic
from fedgen_registry.registry import get_implementation
from fedgen_registry.runs.runner import build_config, run
from fedgen_registry.tasks.centralized import centralized_config, centralized_preset
from runtime.settings import FAST_EVAL

FAMILIES = {
    "fedavg-vae": {"model.conditional": True},
    "fedavg-diffusion": {"model.block_channels": [8, 16], "model.sample_steps": 2},
}


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Small models on one thread, as the engine runs them: OpenMP's spinning threads crawl on a busy machine."""
    with deterministic(threads=1):
        yield


@pytest.mark.parametrize("implementation_id", sorted(FAMILIES))
def test_aggregate_is_the_size_weighted_mean_and_the_run_is_judged(
    make_engine, implementation_id: str, tmp_path: Path
) -> None:
    replies: dict[int, dict] = {}

    def spy(delivery: Delivery) -> None:
        if delivery.direction == "up":
            replies[delivery.client] = {"arrays": dict(delivery.message.arrays), **delivery.message.config}

    settings = {"data.partition": "quantity", "data.alpha": 0.5, **FAMILIES[implementation_id]}
    engine = make_engine(implementation_id, rounds=1, local_steps=1, clients=3, observer=spy, **settings)
    engine.run()
    order = sorted(replies)
    sizes = np.array([replies[c]["num_examples"] for c in order], dtype=np.float64)
    assert sizes.tolist() == [len(engine.algorithm.parts[c]) for c in order] and len(set(sizes)) > 1
    weighted: list[str] = []
    for name, value in engine.server.module("model").state_dict().items():
        stacked = np.stack([replies[c]["arrays"]["model." + name].numpy().astype(np.float64) for c in order])
        expected = np.tensordot(sizes / sizes.sum(), stacked, axes=1)
        assert torch.allclose(value.double(), torch.from_numpy(expected), rtol=0, atol=1e-7), name
        if not np.allclose(expected, stacked.mean(axis=0)):
            weighted.append(name)
    model = engine.server.module("model")
    assert len(weighted) > len(model.state_dict()) // 2  # weighting, not a plain mean, is tested
    metrics = engine.algorithm.finish(engine.server)
    assert (engine.run_dir / "samples.png").exists() and (engine.run_dir / "partition.json").exists()
    assert {"kid", "fid", "precision", "recall", "density", "coverage"} <= set(metrics)
    assert ("tstr_accuracy" in metrics) is ("model.conditional" in FAMILIES[implementation_id])


def test_centralized_preset_keeps_the_sample_visits() -> None:
    federated = get_implementation("fedavg-diffusion").config
    preset = {"rounds": 4, "clients": 8, "clients_per_round": 2, "local_steps": 6, "data.alpha": 0.1}
    assert centralized_preset(federated, {**preset, "model.sample_steps": 3, "data.name": "digits"}) == {
        "rounds": 4,
        "local_steps": 12,
        "model.sample_steps": 3,
        "data.name": "digits",
    }
    assert centralized_preset(federated, {"clients": 5, "local_steps": 2})["local_steps"] == 10
    with pytest.raises(ValidationError):
        centralized_config(federated).model_validate({"clients": 2})


@pytest.mark.parametrize(("federated", "centralized"), [("fedavg-vae", "centralized-vae")])
def test_centralized_baseline_trains_one_client_on_every_row(make_engine, federated: str, centralized: str) -> None:
    spec, baseline = get_implementation(federated), get_implementation(centralized)
    assert set(baseline.presets) == set(spec.presets)
    for name in spec.presets:
        fed, cen = build_config(spec, name, {}), build_config(baseline, name, {})
        per_round = min(fed.clients_per_round or fed.clients, fed.clients)
        assert cen.clients == 1 and cen.rounds == fed.rounds and cen.local_steps == per_round * fed.local_steps
        assert cen.model == fed.model and cen.optim == fed.optim
    engine = make_engine(centralized, rounds=1, local_steps=1)
    assert len(engine.algorithm.parts) == 1 and len(engine.algorithm.parts[0]) == len(engine.algorithm.train)


def test_diffusion_runs_repeat_exactly_with_stochastic_sampling(tmp_path: Path) -> None:
    """DDPM sampling draws fresh noise at every step; the engine's seeding must still make a run repeatable."""
    settings = {"rounds": 1, "clients": 2, "local_steps": 1, **FAMILIES["fedavg-diffusion"], "model.sampler": "ddpm"}
    first, second, other = (
        run("fedavg-diffusion", preset="smoke", out=tmp_path / name, quiet=True, seed=seed, **settings, **FAST_EVAL)
        for name, seed in (("a", 1), ("b", 1), ("c", 2))
    )
    assert first["metrics"] == second["metrics"] and first["metrics"]["kid"] != other["metrics"]["kid"]
    assert (tmp_path / "a" / "samples.png").read_bytes() == (tmp_path / "b" / "samples.png").read_bytes()
