"""The diffusion quality recipe in the shared layers: v-prediction as diffusers defines it, the MLP denoiser,
the cosine learning rate over the run, and the server's moving average of the global network."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from torch import nn

from fedgen_registry.data.local import LocalData
from fedgen_registry.federation.seeding import deterministic
from fedgen_registry.models.denoiser import MLPDenoiser
from fedgen_registry.objectives.diffusion import (
    DiffusionConfig,
    DiffusionFamily,
    denoising_loss,
    sampling_scheduler,
    training_scheduler,
)
from fedgen_registry.registry import get_implementation
from fedgen_registry.runs.runner import build_config
from fedgen_registry.strategies.averaging import AveragedFedAvg
from fedgen_registry.strategies.family import FamilyOptimConfig, local_training

SHAPE = (1, 8, 8)
TINY_MLP = {"model.architecture": "mlp", "model.width": 16, "model.blocks": 1, "model.sample_steps": 2}


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    with deterministic(threads=1):
        yield


class Zero(nn.Module):
    """A denoiser that predicts 0 everywhere, so the loss is the mean square of the target."""

    def forward(self, images: torch.Tensor, steps: torch.Tensor, class_labels: torch.Tensor | None) -> torch.Tensor:
        return torch.zeros_like(images)


@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
def test_the_loss_target_is_the_noise_or_the_velocity(prediction_type: str) -> None:
    """v = sqrt(a_t) eps - sqrt(1 - a_t) x (Salimans and Ho 2022), written here from the schedule's a_t."""
    config = DiffusionConfig(beta_schedule="squaredcos_cap_v2", prediction_type=prediction_type)
    scheduler = training_scheduler(config)
    images = torch.rand(16, *SHAPE) * 2 - 1
    torch.manual_seed(3)
    loss = denoising_loss(Zero(), scheduler, images, None)
    torch.manual_seed(3)  # the same noise and timesteps as the loss drew
    noise, steps = torch.randn_like(images), torch.randint(config.train_timesteps, (len(images),))
    a = scheduler.alphas_cumprod[steps].view(-1, 1, 1, 1)
    velocity = a.sqrt() * noise - (1 - a).sqrt() * images
    target = velocity if prediction_type == "v_prediction" else noise
    assert float(loss) == pytest.approx(float(target.square().mean()), rel=1e-5)
    assert not torch.allclose(velocity, noise, atol=1e-2)  # the two targets are told apart


def test_both_schedulers_read_the_prediction_as_trained() -> None:
    config = DiffusionConfig(prediction_type="v_prediction", sampler="ddim")
    assert training_scheduler(config).config.prediction_type == "v_prediction"
    assert sampling_scheduler(config).config.prediction_type == "v_prediction"
    assert sampling_scheduler(config.model_copy(update={"sampler": "ddpm"})).config.prediction_type == "v_prediction"


def test_the_mlp_denoiser_keeps_the_image_shape_and_reads_time_and_label() -> None:
    torch.manual_seed(0)
    model = MLPDenoiser(SHAPE, width=32, blocks=2, num_classes=10)
    images, labels = torch.randn(5, *SHAPE), torch.arange(5)
    out = model(images, torch.full((5,), 10), class_labels=labels)
    assert out.shape == (5, *SHAPE)
    assert torch.equal(model(images, torch.tensor(10), class_labels=labels), out)  # a scalar step is broadcast
    assert not torch.allclose(model(images, torch.full((5,), 900), class_labels=labels), out)
    assert not torch.allclose(model(images, torch.full((5,), 10), class_labels=labels.flip(0)), out)
    with pytest.raises(ValueError, match="needs class labels"):
        model(images, 10)


def test_the_mlp_family_samples_flattened_images_in_range() -> None:
    torch.manual_seed(0)
    config = DiffusionConfig(architecture="mlp", width=16, blocks=1, prediction_type="v_prediction", sample_steps=3)
    family = DiffusionFamily(config, SHAPE, 10)
    model = family.build().eval()
    assert isinstance(model, MLPDenoiser)
    samples = family.sample(model, 4, None)
    assert samples.shape == (4, 64) and samples.abs().max() <= 1.0


def test_the_cosine_rate_runs_over_all_rounds_and_local_steps() -> None:
    assert FamilyOptimConfig(lr=2.0).rate(rounds=3, local_steps=4) is None
    rate = FamilyOptimConfig(lr=2.0, schedule="cosine").rate(rounds=3, local_steps=4)
    assert rate is not None
    assert rate(1, 0) == 2.0
    assert rate(2, 2) == pytest.approx(1.0 + math.cos(math.pi * 6 / 12))  # step 6 of 12: the middle
    values = [rate(r, s) for r in (1, 2, 3) for s in range(4)]
    assert all(a > b for a, b in itertools.pairwise(values)) and values[-1] > 0


def test_local_training_takes_each_steps_rate() -> None:
    """Adam's first steps on loss = w move w by about the learning rate each, so w ends at -sum(rates)."""

    class Linear:
        def loss(self, model: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, dict]:
            loss = model.weight.sum()
            return loss, {"loss": loss.item()}

    model = nn.Linear(1, 1, bias=False)
    nn.init.zeros_(model.weight)
    data = LocalData(torch.zeros(4, 1), torch.zeros(4, dtype=torch.long), 1)
    rates = [0.1, 0.05, 0.01]
    local_training(model, Linear(), data, FamilyOptimConfig(lr=1.0), 3, rates.__getitem__)
    assert float(model.weight.detach()) == pytest.approx(-sum(rates), rel=1e-3)


def make_algorithm(tmp_path: Path, **overrides: object):
    spec = get_implementation("fedavg-diffusion")
    settings = {"rounds": 2, "clients": 2, "local_steps": 2, "ema": 0.5, **TINY_MLP, **overrides}
    return spec.target(build_config(spec, "smoke", settings), tmp_path)


def one_round(algorithm, server, server_round: int, clients: list) -> None:
    messages = server.configure("train", server_round, [0, 1])
    server.aggregate("train", server_round, {cid: clients[cid].handle(m) for cid, m in messages.items()})


def test_the_server_average_is_judged_checkpointed_and_resumes(tmp_path: Path) -> None:
    torch.manual_seed(0)
    algorithm = make_algorithm(tmp_path)
    server = algorithm.make_server()
    assert isinstance(server, AveragedFedAvg)
    clients = [algorithm.make_client(cid) for cid in (0, 1)]
    start = {k: v.clone() for k, v in server.average.network.state_dict().items()}
    one_round(algorithm, server, 1, clients)
    after, current = server.average.network.state_dict(), server.module("model").state_dict()
    for name, value in after.items():
        assert torch.allclose(value, 0.5 * start[name] + 0.5 * current[name], atol=1e-6), name
    assert any(not torch.equal(after[k], current[k]) for k in after)  # the average is not the last global model

    checkpoint = {k: v.clone() for k, v in server.state_dict()["averaged_model"].items()}
    restored = make_algorithm(tmp_path / "restored").make_server()
    restored.load_state_dict({**server.state_dict(), "averaged_model": checkpoint})
    torch.manual_seed(1)
    one_round(algorithm, server, 2, clients)
    torch.manual_seed(1)
    one_round(algorithm, restored, 2, clients)
    for name, value in server.average.network.state_dict().items():
        assert torch.equal(restored.average.network.state_dict()[name], value), name

    judged: list[nn.Module] = []
    algorithm.judge = lambda model: judged.append(model) or {}  # type: ignore[method-assign]
    algorithm.finish(server)
    assert judged == [server.average.network]


def test_without_ema_the_last_global_model_is_judged(tmp_path: Path) -> None:
    algorithm = make_algorithm(tmp_path, ema=None)
    server = algorithm.make_server()
    assert not isinstance(server, AveragedFedAvg)
    judged: list[nn.Module] = []
    algorithm.judge = lambda model: judged.append(model) or {}  # type: ignore[method-assign]
    algorithm.finish(server)
    assert judged == [server.module("model")]
