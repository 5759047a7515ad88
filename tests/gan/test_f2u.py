"""F2U: each generated sample is judged by the client discriminator that finds it most real."""

from __future__ import annotations

import torch
from runtime.conftest import make_engine  # noqa: F401  (the fixture)
from torch.nn import functional

from fedgen_registry.federation.local import Delivery
from fedgen_registry.implementations.generation.gan.f2u import f2a_score
from fedgen_registry.strategies.central import chain_rule


def test_feedback_for_each_sample_comes_only_from_its_most_forgiving_client(make_engine) -> None:  # noqa: F811
    engine = make_engine("f2u", rounds=1)
    logits = torch.tensor([[2.0, -1.0, 0.0], [0.5, 3.0, -2.0], [-1.0, 0.0, 1.0]])
    grads = torch.ones(3, 3, 4)
    feedback, loss = chain_rule(lambda s: engine.server.objective(s, []), logits, grads)
    chosen = logits.argmax(0)  # client 0, 1, 2 for samples 0, 1, 2
    for sample, client in enumerate(chosen.tolist()):
        others = [k for k in range(3) if k != client]
        assert torch.all(feedback[client, sample] != 0)
        assert torch.all(feedback[others, sample] == 0)
    assert abs(loss - float(functional.softplus(-logits.max(0).values).mean())) < 1e-6


def test_f2a_tends_to_f2u_as_forgiveness_grows() -> None:
    logits = torch.tensor([[2.0, -1.0], [0.5, 3.0]])
    assert torch.allclose(f2a_score(logits, 200.0), torch.sigmoid(logits.max(0).values), atol=1e-3)
    assert torch.all(f2a_score(logits, 1e-6) < torch.sigmoid(logits.max(0).values))


def test_round_reports_the_forgiving_loss_of_the_clients_verdicts(make_engine) -> None:  # noqa: F811
    ups: dict[int, torch.Tensor] = {}

    def spy(delivery: Delivery) -> None:
        assert not any(name.startswith(("g.", "d.")) for name in delivery.message.arrays)
        if delivery.direction == "up":
            ups[delivery.client] = delivery.message.arrays["logits"]

    engine = make_engine("f2u", rounds=1, observer=spy)
    engine.run()
    logits = torch.stack([ups[c] for c in sorted(ups)])
    expected = float(functional.softplus(-logits.max(0).values).mean())
    assert abs(engine.history[0]["metrics"]["g_loss"] - expected) < 1e-5
