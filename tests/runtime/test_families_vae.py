"""The VAE family: the negative ELBO is a true bound that training lowers; the CVAE's label matters."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
import torch

from fedgen_registry.data.datasets import digits_split
from fedgen_registry.federation.seeding import deterministic
from fedgen_registry.objectives.vae import VAE, VAEConfig, VAEFamily, negative_elbo

SHAPE = (1, 8, 8)


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Small models on one thread, as the engine runs them: OpenMP's spinning threads crawl on a busy machine."""
    with deterministic(threads=1):
        yield


def held_out_bound(model: VAE, x: torch.Tensor, labels: torch.Tensor | None) -> float:
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)  # the same reparameterisation noise before and after training
        return float(negative_elbo(model, x, labels, 0.2)[0])


@pytest.mark.parametrize("config", [VAEConfig(), VAEConfig(architecture="conv", hidden=16, conditional=True)])
def test_training_lowers_the_negative_elbo_on_digits(config: VAEConfig) -> None:
    train, test = digits_split()
    torch.manual_seed(0)
    family = VAEFamily(config, SHAPE, train.num_classes)
    model = family.build()
    x, y = torch.as_tensor(train.x), torch.as_tensor(train.y)
    x_test, y_test = torch.as_tensor(test.x), torch.as_tensor(test.y)
    labels = y_test if config.conditional else None
    before = held_out_bound(model, x_test, labels)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    for _ in range(40):
        index = torch.randint(len(x), (64,))
        loss, scalars = family.loss(model, x[index], y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        assert scalars["loss"] == pytest.approx(scalars["reconstruction"] + scalars["kl"], rel=1e-5)
    after = held_out_bound(model, x_test, labels)
    assert after < before - 20  # nats per image, on held-out rows


def test_the_bound_counts_the_gaussian_constant_and_the_kl() -> None:
    """A decoder that returns x exactly and a posterior equal to the prior: -ELBO is the constant alone."""
    model = VAE(VAEConfig(latent_dim=2), SHAPE)
    x = torch.zeros(3, 64)
    for parameter in model.parameters():
        torch.nn.init.zeros_(parameter)  # mu = log_var = 0 (the prior), decoder output tanh(0) = 0 = x
    loss, scalars = negative_elbo(model, x, None, decoder_std=0.5)
    assert scalars["kl"] == pytest.approx(0.0, abs=1e-7)
    assert float(loss.detach()) == pytest.approx(64 * (math.log(0.5) + 0.5 * math.log(2 * math.pi)), rel=1e-6)


def test_cvae_decodes_by_label_and_needs_one() -> None:
    torch.manual_seed(0)
    family = VAEFamily(VAEConfig(conditional=True), SHAPE, 10)
    model = family.build()
    z = torch.randn(1, 8).repeat(2, 1)
    first, second = model.decode(z, torch.tensor([0, 1]))
    assert not torch.allclose(first, second)
    assert family.sample(model, 5, torch.arange(5)).shape == (5, 64)
    with pytest.raises(ValueError, match="needs labels"):
        model.decode(z)
