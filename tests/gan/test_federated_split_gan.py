"""Federated split GAN: the generator is remote, discriminators are cut across devices by compute, and only
cut-layer activations and gradients cross devices; the split computes exactly what the whole discriminator would."""

from __future__ import annotations

import copy

import torch
from runtime.conftest import make_engine  # noqa: F401  (the fixture)
from torch import nn
from torch.nn import functional

from fedgen_registry.federation.local import Delivery
from fedgen_registry.implementations.generation.gan.federated_split_gan import split_blocks


def test_blocks_follow_device_capacity() -> None:
    assert split_blocks([10, 10, 10], [1.0, 2.0]) == [range(0, 1), range(1, 3)]
    assert split_blocks([10, 10, 10], [1.0, 1.0, 1.0]) == [range(0, 1), range(1, 2), range(2, 3)]
    assert split_blocks([10, 10, 10], [0.01, 1.0]) == [range(0, 0), range(0, 3)]  # a weak device runs nothing


def test_split_chain_equals_the_whole_discriminator_and_keeps_data_home(make_engine) -> None:  # noqa: F811
    seen: dict[tuple[str, str, int], dict[str, torch.Tensor]] = {}

    def spy(delivery: Delivery) -> None:
        seen[(delivery.stage, delivery.direction, delivery.client)] = dict(delivery.message.arrays)
        assert not any(name.startswith("g.") for name in delivery.message.arrays)

    engine = make_engine("federated-split-gan", rounds=1, clients=2, average_every=0, observer=spy)
    devices = engine.algorithm.devices
    whole = {
        u: nn.Sequential(*(copy.deepcopy(engine.clients[u * devices + k].segment) for k in range(3))) for u in (0, 1)
    }
    engine.run()
    hidden = engine.algorithm.config.model.hidden
    for (stage, direction, cid), arrays in seen.items():
        if cid % devices:  # devices without data only ever see cut-layer activations or gradients
            assert all(a.shape[1] in (hidden, 1) for a in arrays.values()), (stage, direction, cid)
    for user in (0, 1):
        head = user * devices
        fake = seen[("forward.0", "down", head)]["fake"].clone().requires_grad_(True)
        logits = whole[user](fake).squeeze(1)
        (expected,) = torch.autograd.grad(functional.softplus(-logits).mean(), fake)
        assert torch.allclose(seen[("backward.0", "up", head)]["g_grad"], expected, atol=1e-6)
        assert seen[("forward.0", "up", head)]["real"].shape[1] == hidden  # activations leave, rows do not


def test_segments_are_averaged_across_users(make_engine) -> None:  # noqa: F811
    engine = make_engine("federated-split-gan", rounds=1, clients=3, average_every=1)
    engine.run()
    devices = engine.algorithm.devices
    for position in range(devices):
        states = [engine.clients[u * devices + position].segment.state_dict() for u in range(3)]
        assert all(torch.equal(states[0][k], s[k]) for s in states[1:] for k in states[0])
