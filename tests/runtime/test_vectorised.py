"""Vectorised FedAvg-GAN clients: one vmapped step for all clients equals each client's own loop.

The reference is the loop itself (:func:`train_steps` under each client's seed), so a plan drawn in
another order, a missing conditioning label, the wrong loss or an Adam that is not Adam's all fail here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

from fedgen_registry.data.local import LocalData, SampleMeter
from fedgen_registry.federation.errors import FederationError
from fedgen_registry.federation.protocol import Message
from fedgen_registry.federation.seeding import seed_everything
from fedgen_registry.models.gan import MLPDiscriminator, MLPGenerator
from fedgen_registry.objectives.gan import OptimConfig, train_steps
from fedgen_registry.objectives.vectorised import draw_plan, stack_plans, vectorised_update
from fedgen_registry.strategies.fedavg import TRAIN
from fedgen_registry.strategies.gan import FedAvgGANClient, ProfiledClient

LATENT, DIM, CLASSES, STEPS, BATCH = 4, 6, 3, 3, 5


def clients(sizes: list[int]) -> list[LocalData]:
    rng = torch.Generator().manual_seed(0)
    return [
        LocalData(torch.rand(n, DIM, generator=rng) * 2 - 1, torch.randint(CLASSES, (n,), generator=rng), CLASSES)
        for n in sizes
    ]


def named(generator: torch.nn.Module, discriminator: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {
        **{"g." + k: v.detach().clone() for k, v in generator.named_parameters()},
        **{"d." + k: v.detach().clone() for k, v in discriminator.named_parameters()},
    }


@pytest.mark.parametrize(("conditional", "loss"), [(False, "bce"), (True, "bce"), (True, "hinge")])
def test_vmapped_update_equals_each_clients_own_loop(conditional: bool, loss: str) -> None:
    classes = CLASSES if conditional else 0
    torch.manual_seed(1)
    generator, discriminator = MLPGenerator(LATENT, 8, DIM, classes), MLPDiscriminator(DIM, 8, classes)
    start = named(generator, discriminator)
    optim = OptimConfig(batch_size=BATCH, lr_g=1e-2, lr_d=1e-2, loss=loss)
    datas = clients([7, 3, 12])

    looped, losses = [], []
    for seed, data in enumerate(datas):
        generator.load_state_dict({k[2:]: v for k, v in start.items() if k.startswith("g.")})
        discriminator.load_state_dict({k[2:]: v for k, v in start.items() if k.startswith("d.")})
        seed_everything(100 + seed)
        losses.append(train_steps(generator, discriminator, optim, data, STEPS, LATENT, conditional))
        looped.append(named(generator, discriminator))
    plans = []
    for seed, data in enumerate(datas):
        seed_everything(100 + seed)
        plans.append(draw_plan(data, STEPS, BATCH, LATENT, conditional))
    stacked_start = {name: value.unsqueeze(0).repeat(3, *[1] * value.dim()) for name, value in start.items()}
    result = vectorised_update(generator, discriminator, stacked_start, stack_plans(plans), optim)

    for client, expected in enumerate(looped):
        for name, value in expected.items():
            assert torch.allclose(result.arrays[name][client], value, rtol=0, atol=1e-5), (client, name)
        assert result.d_loss[client].item() == pytest.approx(losses[client]["d_loss"], abs=1e-5)
        assert result.g_loss[client].item() == pytest.approx(losses[client]["g_loss"], abs=1e-5)
    moved = result.arrays["g.net.0.weight"] - start["g.net.0.weight"]
    assert moved.abs().flatten(1).max(dim=1).values.min() > 1e-3  # every client trained ...
    assert not torch.allclose(result.arrays["d.net.0.weight"][0], result.arrays["d.net.0.weight"][1])  # ... its own way


def test_a_plan_draws_the_loops_real_rows_through_the_meter() -> None:
    (data,) = clients([9])
    with SampleMeter().counting() as meter:
        plan = draw_plan(data, STEPS, BATCH, LATENT, conditional=True)
    assert meter.rows == STEPS * BATCH
    assert plan.real.shape == (STEPS, BATCH, DIM) and plan.fake_labels is not None
    assert plan.fake_labels.shape == (STEPS, BATCH) and int(plan.fake_labels.max()) < CLASSES


def test_networks_with_buffers_are_refused() -> None:
    (data,) = clients([9])
    seed_everything(0)
    plan = stack_plans([draw_plan(data, 1, 2, LATENT, conditional=False)])
    generator, discriminator = MLPGenerator(LATENT, 8, DIM), MLPDiscriminator(DIM, 8, spectral=True)
    start = {k: v.unsqueeze(0) for k, v in named(generator, discriminator).items()}
    with pytest.raises(ValueError, match="buffers"):
        vectorised_update(generator, discriminator, start, plan, OptimConfig())


def test_a_subclass_that_changes_the_answer_is_not_batched_unless_it_says_so() -> None:
    class Noisy(FedAvgGANClient):
        def handle(self, message: Message) -> Message:
            return super().handle(message)

    assert TRAIN in FedAvgGANClient.batched_messages
    assert Noisy.batched_messages == frozenset()
    assert ProfiledClient.batched_messages == FedAvgGANClient.batched_messages


def final_generator(engine: Any) -> dict[str, torch.Tensor]:
    engine.run()
    return {k: v.detach().clone() for k, v in engine.server.generator.state_dict().items()}


@pytest.mark.parametrize("conditional", [False, True])
def test_the_engine_trains_vectorised_clients_as_the_loop_does(
    make_engine: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, conditional: bool
) -> None:
    settings = {"rounds": 2, "clients": 6, "local_steps": 3, "model.conditional": conditional}
    looped = make_engine("fedavg-gan", **settings)
    with SampleMeter().counting() as looped_rows:
        expected = final_generator(looped)

    def refuse(self: FedAvgGANClient, message: Message) -> Message:
        raise AssertionError("a vectorised run must not train clients one at a time")

    monkeypatch.setattr(FedAvgGANClient, "handle", refuse)
    vectorised = make_engine(
        "fedavg-gan", run_dir=looped.run_dir.parent / "vectorised", vectorise_clients=True, **settings
    )
    with SampleMeter().counting() as vectorised_rows:
        got = final_generator(vectorised)

    assert all(not record["failures"] for record in vectorised.history)
    assert vectorised_rows.rows == looped_rows.rows > 0
    for name, value in expected.items():
        assert torch.allclose(got[name], value, rtol=0, atol=1e-4), name
    for a, b in zip(looped.history, vectorised.history, strict=True):
        assert a["metrics"]["d_loss"] == pytest.approx(b["metrics"]["d_loss"], abs=1e-4)
        assert a["bytes_up"] == b["bytes_up"] and a["bytes_down"] == b["bytes_down"]


def test_vectorise_clients_is_refused_where_it_cannot_apply(make_engine: Callable[..., Any]) -> None:
    with pytest.raises(FederationError, match="spectral norm"):
        make_engine("fedavg-gan", vectorise_clients=True, **{"model.spectral_norm": True})
    with pytest.raises(FederationError, match="has no batched update"):
        make_engine("md-gan", vectorise_clients=True)


def test_the_flower_engine_refuses_vectorised_clients(tmp_path: Any) -> None:
    from fedgen_registry.registry import get_implementation
    from fedgen_registry.runs.flower import run_flower
    from fedgen_registry.runs.runner import build_config

    spec = get_implementation("fedavg-gan")
    config = build_config(spec, "smoke", {"vectorise_clients": True})
    with pytest.raises(FederationError, match="each client is its own node"):
        run_flower(spec, config, tmp_path, resume=False, quiet=True)
    assert not any(tmp_path.iterdir())  # refused before anything was written
