"""FELICIA: the central adversary learns only from synthetic samples and its feedback moves the local generators."""

from __future__ import annotations

import copy
from typing import Any

import torch
from runtime.conftest import make_engine  # noqa: F401  (the fixture)
from torch.nn import functional

from fedgen_registry.federation.local import Delivery
from fedgen_registry.objectives.gan import adam


def _run(make_engine, tmp_path, weight: float) -> tuple[Any, dict, dict, torch.nn.Module]:  # noqa: F811
    uploads: dict[int, torch.Tensor] = {}
    feedback: dict[int, torch.Tensor] = {}
    engine = None

    def spy(delivery: Delivery) -> None:
        arrays = delivery.message.arrays
        for array in arrays.values():
            assert array.shape == (engine.algorithm.config.optim.batch_size, 64)  # samples or their gradients only
            for owner in engine.clients.values():
                params = [*owner.generator.state_dict().values(), *owner.discriminator.state_dict().values()]
                assert not any(array.shape == p.shape and torch.equal(array, p) for p in params)
        if delivery.stage == "local" and delivery.direction == "up":
            uploads[delivery.client] = arrays["samples"]
        if delivery.stage == "privacy" and delivery.direction == "down":
            feedback[delivery.client] = arrays["feedback"]

    engine = make_engine("felicia", rounds=1, privacy_weight=weight, observer=spy, run_dir=tmp_path / str(weight))
    before = copy.deepcopy(engine.server.classifier)
    engine.run()
    return engine, uploads, feedback, before


def test_adversary_trains_on_uploaded_samples_only(make_engine, tmp_path) -> None:  # noqa: F811
    engine, uploads, feedback, classifier = _run(make_engine, tmp_path, 1.0)
    optim = engine.algorithm.config.optim
    optimizer = adam(classifier, optim.lr_d, optim)  # the adversary's recipe, from its state before the round
    inputs = torch.cat([uploads[c] for c in sorted(uploads)])
    sources = torch.cat([torch.full((len(uploads[c]),), c) for c in sorted(uploads)])
    optimizer.zero_grad()
    functional.cross_entropy(classifier(inputs), sources).backward()
    optimizer.step()
    for name, value in engine.server.classifier.state_dict().items():
        assert torch.allclose(value, classifier.state_dict()[name], atol=1e-7), name
    # the feedback pushes each owner's samples away from being attributed to that owner
    for owner, samples in uploads.items():
        p_before = torch.softmax(engine.server.classifier(samples), 1)[:, owner].mean()
        p_after = torch.softmax(engine.server.classifier(samples - 1e-2 * feedback[owner]), 1)[:, owner].mean()
        assert p_after < p_before


def test_generators_move_with_the_privacy_feedback(make_engine, tmp_path) -> None:  # noqa: F811
    coupled, _, feedback, _ = _run(make_engine, tmp_path, 1.0)
    alone, _, silent, _ = _run(make_engine, tmp_path, 0.0)
    assert all(torch.count_nonzero(f) == 0 for f in silent.values())
    assert all(torch.count_nonzero(f) > 0 for f in feedback.values())
    for owner in coupled.clients:
        g1 = coupled.clients[owner].generator.state_dict()["net.0.weight"]
        g0 = alone.clients[owner].generator.state_dict()["net.0.weight"]
        assert not torch.equal(g1, g0)
        assert torch.equal(
            coupled.clients[owner].discriminator.state_dict()["net.0.weight"],
            alone.clients[owner].discriminator.state_dict()["net.0.weight"],
        )
