"""The stable GAN recipe in the shared layers: hinge loss, spectral norm, the server's moving-average generator,
and the quality preset that reaches the real-vs-real neighbourhood without copying a training row."""

from __future__ import annotations

import json

import pytest
import torch

import fedgen_registry
from fedgen_registry.federation.errors import FederationError
from fedgen_registry.models.gan import ModelConfig, build_discriminator
from fedgen_registry.objectives.gan import discriminator_loss, generator_loss
from fedgen_registry.strategies.gan import AveragedGeneratorServer, FedAvgGANAlgorithm, FedAvgGANConfig, PairServer


def test_hinge_losses_are_the_hinge() -> None:
    scores = {"real": torch.tensor([2.0, 0.5]), "fake": torch.tensor([-2.0, 0.5])}

    def critic(x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return scores[x]  # type: ignore[index]

    d = discriminator_loss(critic, "real", None, "fake", None, "hinge")  # type: ignore[arg-type]
    assert float(d) == pytest.approx((0 + 0.5) / 2 + (0 + 1.5) / 2)
    assert float(generator_loss(critic, "fake", None, "hinge")) == pytest.approx(0.75)  # type: ignore[arg-type]


def test_spectral_norm_bounds_the_discriminators_layers() -> None:
    torch.manual_seed(0)
    plain = build_discriminator(ModelConfig(), 64, 10)
    torch.manual_seed(0)
    normalised = build_discriminator(ModelConfig(spectral_norm=True), 64, 10)
    normalised(torch.randn(8, 64))  # a forward pass runs the power iteration
    for layer in (module for module in normalised.modules() if isinstance(module, torch.nn.Linear)):
        assert torch.linalg.matrix_norm(layer.weight, ord=2) < 1.2
    assert (
        max(torch.linalg.matrix_norm(m.weight, ord=2) for m in plain.modules() if isinstance(m, torch.nn.Linear)) > 1.2
    )
    with pytest.raises(ValueError, match="MLP discriminator"):
        ModelConfig(spectral_norm=True, architecture="conv")


def test_the_server_averages_the_generator_every_round_and_checkpoints_it(make_engine) -> None:
    engine = make_engine("fedavg-gan", rounds=1, clients=2, local_steps=1, ema=0.25)
    server = engine.server
    assert isinstance(server, AveragedGeneratorServer)
    before = {k: v.clone() for k, v in server.averaged.state_dict().items()}
    engine.run()
    after, current = server.averaged.state_dict(), server.generator.state_dict()
    for name, value in after.items():
        assert torch.allclose(value, 0.25 * before[name] + 0.75 * current[name], atol=1e-6)
    state = server.state_dict()
    assert "averaged_generator" in state
    server.averaged.load_state_dict(before)
    server.load_state_dict(state)
    assert all(torch.equal(server.averaged.state_dict()[k], v) for k, v in after.items())


def test_ema_on_a_paper_with_its_own_server_is_refused(tmp_path) -> None:
    """A paper on FedAvgGANAlgorithm that builds its own server keeps no average: ema is refused, not ignored."""

    class OwnServer(FedAvgGANAlgorithm[FedAvgGANConfig]):
        def make_server(self) -> PairServer:
            return PairServer(self.new_generator(), self.new_discriminator(), None)

    config = FedAvgGANConfig(ema=0.8, rounds=1, clients=2)
    with pytest.raises(FederationError, match="OwnServer builds its own server"):
        OwnServer(config, tmp_path)
    OwnServer(FedAvgGANConfig(rounds=1, clients=2), tmp_path / "plain")  # without ema it is fine


def test_fedavg_gan_quality_preset_generates_digits_without_copying(tmp_path) -> None:
    """One seed of bench/bench_recipes.py (three seeds there: KID 0.0077 +- 0.0054, recall 0.956 +- 0.010)."""
    fedgen_registry.run("fedavg-gan", preset="quality", out=tmp_path, quiet=True)
    metrics = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["kid"] < 0.03 and metrics["recall"] > 0.8, metrics
    assert not metrics["copies_flagged"] and metrics["dcr_ratio"] > 1.0
