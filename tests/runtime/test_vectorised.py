"""Vectorised FedAvg-GAN local updates: one vmapped step for all clients equals each client's own loop."""

from __future__ import annotations

import pytest
import torch

from fedgen_registry.data.local import LocalData
from fedgen_registry.models.gan import MLPDiscriminator, MLPGenerator
from fedgen_registry.objectives.gan import OptimConfig
from fedgen_registry.objectives.vectorised import draw_plan, looped_update, vectorised_update, weighted_average

LATENT, DIM, CLASSES = 4, 6, 3


def clients(sizes: list[int]) -> list[LocalData]:
    rng = torch.Generator().manual_seed(0)
    return [
        LocalData(torch.rand(n, DIM, generator=rng) * 2 - 1, torch.randint(CLASSES, (n,), generator=rng), CLASSES)
        for n in sizes
    ]


def test_vmapped_update_equals_the_looped_one() -> None:
    torch.manual_seed(1)
    generator, discriminator = MLPGenerator(LATENT, 8, DIM), MLPDiscriminator(DIM, 8)
    start = {name: p.detach().clone() for name, p in generator.named_parameters()}
    optim = OptimConfig(batch_size=5, lr_g=1e-2, lr_d=1e-2)
    plan = draw_plan(clients([7, 3, 12]), steps=3, batch_size=5, latent_dim=LATENT, seed=2)

    looped = looped_update(generator, discriminator, plan, optim)
    vectorised = vectorised_update(generator, discriminator, plan, optim)

    assert set(looped) == set(vectorised) and looped["g.net.0.weight"].shape[0] == 3
    for name in looped:
        assert torch.allclose(vectorised[name], looped[name], rtol=0, atol=1e-5), name
    assert all(torch.equal(p, start[name]) for name, p in generator.named_parameters())  # global nets untouched
    moved = looped["g.net.0.weight"] - start["net.0.weight"]
    assert moved.abs().min(dim=0).values.max() > 1e-3  # every client trained ...
    assert not torch.allclose(looped["d.net.0.weight"][0], looped["d.net.0.weight"][1])  # ... on its own data
    average = weighted_average(vectorised, plan.num_examples)
    expected = sum(looped["d.net.0.bias"][c] * n for c, n in enumerate([7, 3, 12])) / 22
    assert torch.allclose(average["d.net.0.bias"], expected, atol=1e-5)


def test_conditional_networks_are_refused() -> None:
    plan = draw_plan(clients([4, 4]), steps=1, batch_size=2, latent_dim=LATENT, seed=0)
    networks = MLPGenerator(LATENT, 8, DIM, CLASSES), MLPDiscriminator(DIM, 8, CLASSES)
    with pytest.raises(ValueError, match="unconditional"):
        vectorised_update(*networks, plan, OptimConfig())
