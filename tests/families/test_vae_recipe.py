"""The VAE recipe's options: a learned decoder spread stays a true bound and moves to where the ELBO puts it; the
sampling temperature narrows the latents decoded and nothing else; the quality twins share one budget."""

from __future__ import annotations

import math

import pytest
import torch

from fedgen_registry.objectives.vae import VAE, VAEConfig, VAEFamily, negative_elbo
from fedgen_registry.registry import get_implementation
from fedgen_registry.runs.runner import build_config

SHAPE = (1, 8, 8)


def test_a_learned_spread_enters_the_bound_with_its_constant() -> None:
    model = VAE(VAEConfig(latent_dim=2, learn_decoder_std=True, decoder_std=0.5), SHAPE)
    x = torch.zeros(3, 64)
    for parameter in model.parameters():
        torch.nn.init.zeros_(parameter)  # posterior = prior, decoder output 0 = x; log std 0 -> std 1
    loss, scalars = negative_elbo(model, x, None, decoder_std=0.2)  # the fixed value is ignored when learned
    assert scalars["kl"] == pytest.approx(0.0, abs=1e-7)
    assert float(loss.detach()) == pytest.approx(64 * 0.5 * math.log(2 * math.pi), rel=1e-6)


def test_the_learned_spread_moves_towards_the_reconstruction_error() -> None:
    torch.manual_seed(0)
    model = VAE(VAEConfig(learn_decoder_std=True, decoder_std=1.0), SHAPE)
    assert model.log_decoder_std is not None
    optimizer = torch.optim.Adam([model.log_decoder_std], lr=0.05)
    x = torch.rand(64, 64) * 2 - 1
    for _ in range(200):  # only the spread trains: it goes to the RMS error of the fixed decoder
        loss, _ = negative_elbo(model, x, None, decoder_std=1.0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        mu, _ = model.encode(x)
        rms = float((x - model.decode(mu)).square().mean().sqrt())
    assert float(model.log_decoder_std.detach().exp()) == pytest.approx(rms, rel=0.15)


def test_the_temperature_scales_the_decoded_latents_only() -> None:
    family, cold = (VAEFamily(VAEConfig(temperature=t), SHAPE, 10) for t in (1.0, 0.5))
    model = family.build()
    decoded: list[torch.Tensor] = []
    model.decode = lambda z, labels=None: decoded.append(z) or z  # type: ignore[method-assign]
    for chosen in (family, cold):
        torch.manual_seed(0)
        chosen.sample(model, 4, None)
    assert torch.allclose(decoded[1], 0.5 * decoded[0])


def test_the_quality_twin_takes_as_many_steps_of_the_same_recipe() -> None:
    federated, twin = (build_config(get_implementation(n), "quality", {}) for n in ("fedavg-vae", "centralized-vae"))
    assert federated.clients == 10 and federated.data.partition == "iid" and twin.clients == 1
    per_round = federated.clients_per_round or federated.clients
    assert twin.rounds * twin.local_steps == federated.rounds * per_round * federated.local_steps
    assert twin.model == federated.model and twin.optim == federated.optim and twin.ema == federated.ema
