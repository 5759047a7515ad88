"""DCGAN-style networks fit every supported image size; the WGAN-GP penalty is exactly the paper's."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fedgen_registry.models.conv import ConvDiscriminator, ConvGenerator, resampling_plan
from fedgen_registry.objectives import wgan


@pytest.mark.parametrize(("shape", "plan"), [((1, 8, 8), (2, 2)), ((1, 28, 28), (7, 2)), ((3, 32, 32), (4, 3))])
def test_conv_networks_fit_each_image_size(shape: tuple[int, int, int], plan: tuple[int, int]) -> None:
    assert resampling_plan(shape[1]) == plan
    torch.manual_seed(0)
    generator, discriminator = ConvGenerator(16, shape, 8, num_classes=10), ConvDiscriminator(shape, 8, num_classes=10)
    labels = torch.arange(4)
    images = generator(torch.randn(4, 16), labels)
    assert images.shape == (4, shape[0] * shape[1] * shape[2]) and images.abs().max() <= 1
    assert discriminator(images, labels).shape == (4,)
    generator.eval()  # batch norm on running statistics, so rows do not mix
    same_z = torch.randn(1, 16).repeat(2, 1)
    assert not torch.allclose(*generator(same_z, torch.tensor([0, 1])))  # the label reaches the generator
    same_x = images[:1].repeat(2, 1)
    assert not torch.allclose(*discriminator(same_x, torch.tensor([0, 1])))  # and the discriminator


def test_an_odd_side_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be halved"):
        resampling_plan(7)


class LinearCritic(nn.Module):
    """D(x) = w.x + b: its input gradient is w everywhere, so it is ||w||-Lipschitz."""

    def __init__(self, dim: int, norm: float) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, 1)
        with torch.no_grad():
            self.linear.weight.mul_(norm / self.linear.weight.norm())

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.linear(x).squeeze(1)


def test_gradient_penalty_is_zero_exactly_for_a_1_lipschitz_linear_critic() -> None:
    torch.manual_seed(0)
    real, fake = torch.randn(16, 64), torch.randn(16, 64)

    def penalty(critic: nn.Module) -> float:
        return float(wgan.gradient_penalty(critic, real, fake).detach())

    assert penalty(LinearCritic(64, 1.0)) == pytest.approx(0.0, abs=1e-10)
    assert penalty(LinearCritic(64, 3.0)) == pytest.approx(4.0, rel=1e-5)
    assert penalty(LinearCritic(64, 0.5)) == pytest.approx(0.25, rel=1e-5)
    assert penalty(LinearCritic(64, 1.0).requires_grad_(False)) == pytest.approx(0.0, abs=1e-10)
    mlp = nn.Sequential(nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 1))
    assert float(wgan.gradient_penalty(lambda x, labels: mlp(x).squeeze(1), real, fake).detach()) > 0


def test_critic_loss_gradient_includes_the_penalty() -> None:
    """For D(x) = w.x: d/dw [-(mean_r - mean_f).w + lambda (||w|| - 1)^2] = -(mean_r - mean_f) + 2 lambda (||w|| - 1) w/||w||."""
    torch.manual_seed(0)
    critic = LinearCritic(8, 3.0)
    real, fake = torch.randn(32, 8), torch.randn(32, 8)
    loss, scalars = wgan.critic_loss(critic, real, fake, penalty_weight=10.0)
    loss.backward()
    w = critic.linear.weight.detach()[0]
    expected = -(real.mean(0) - fake.mean(0)) + 2 * 10.0 * (w.norm() - 1) * w / w.norm()
    assert torch.allclose(critic.linear.weight.grad[0], expected, atol=1e-4)
    assert scalars["gradient_penalty"] == pytest.approx(4.0, rel=1e-5)
    assert scalars["wasserstein"] == pytest.approx(float((real.mean(0) - fake.mean(0)) @ w), rel=1e-4)
    with torch.no_grad():
        assert float(wgan.generator_loss(critic, fake)) == pytest.approx(-float(critic(fake).mean()))
