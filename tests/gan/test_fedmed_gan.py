"""FedMed-GAN: only the two generators travel, and discriminators reach them only through sanitised gradients."""

from __future__ import annotations

import torch
from runtime.conftest import make_engine  # noqa: F401  (the fixture)

from fedgen_registry.federation.local import Delivery
from fedgen_registry.implementations.generation.gan import fedmed_gan
from fedgen_registry.implementations.generation.gan.fedmed_gan import SanitiserConfig, sanitised


def test_only_the_generators_travel_and_discriminators_stay(make_engine) -> None:  # noqa: F811
    names: set[str] = set()

    def spy(delivery: Delivery) -> None:
        names.update(delivery.message.arrays)

    engine = make_engine("fedmed-gan", rounds=2, clients=2, local_steps=1, observer=spy)
    client = engine.clients[0]
    before = {k: v.clone() for k, v in client.d_a.state_dict().items()}
    engine.run()
    expected = {"g_ab." + k for k in client.g_ab.state_dict()} | {"g_ba." + k for k in client.g_ba.state_dict()}
    assert names == expected
    assert any(not torch.equal(before[k], v) for k, v in client.d_a.state_dict().items())  # D trained, kept local


def test_sanitiser_clips_each_sample_and_adds_noise() -> None:
    samples = torch.rand(4, 64, requires_grad=True)
    (sanitised(samples, SanitiserConfig(noise_multiplier=0.0)) * 1e3).sum().backward()
    assert torch.allclose(samples.grad.norm(dim=1), torch.full((4,), 1.0 / 4), atol=1e-6)  # clip_bound / batch

    samples.grad = None
    torch.manual_seed(0)
    (sanitised(samples, SanitiserConfig(noise_multiplier=1.0, sensitivity=2.0)) * 0.0).sum().backward()
    assert abs(float(samples.grad.std()) - 0.25 * 2.0) < 0.05  # pure noise: std = clip / batch * z * sensitivity


def test_every_adversarial_term_goes_through_the_sanitiser(make_engine, monkeypatch) -> None:  # noqa: F811
    calls: list[tuple[int, ...]] = []
    original = fedmed_gan.sanitised

    def counting(samples: torch.Tensor, settings: SanitiserConfig) -> torch.Tensor:
        calls.append(tuple(samples.shape))
        return original(samples, settings)

    monkeypatch.setattr(fedmed_gan, "sanitised", counting)
    make_engine("fedmed-gan", rounds=1, clients=2, local_steps=2, **{"optim.batch_size": 8}).run()
    assert calls == [(8, 64)] * (2 * 2 * 2)  # clients x steps x (fake a, fake b)
    calls.clear()
    make_engine("fedmed-gan", rounds=1, clients=2, local_steps=2, **{"dp.enabled": False}).run()
    assert calls == []
