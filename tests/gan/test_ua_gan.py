"""UA-GAN: the generator is trained against the odds-aggregated discriminator of the sites, from verdicts only."""

from __future__ import annotations

import torch
from runtime.conftest import make_engine  # noqa: F401  (the fixture)
from torch.nn import functional

from fedgen_registry.federation.local import Delivery
from fedgen_registry.implementations.generation.gan.ua_gan import universal_logit
from fedgen_registry.strategies.central import chain_rule


def test_universal_discriminator_is_the_weighted_odds_mixture() -> None:
    probabilities = torch.tensor([[0.9, 0.2, 0.5], [0.1, 0.6, 0.5]], dtype=torch.float64)
    weights = torch.tensor([0.25, 0.75], dtype=torch.float64)
    odds = (weights[:, None] * probabilities / (1 - probabilities)).sum(0)
    combined = torch.sigmoid(universal_logit(torch.logit(probabilities), weights))
    assert torch.allclose(combined, odds / (1 + odds))


def test_chain_rule_feedback_equals_autograd_through_the_whole_objective() -> None:
    torch.manual_seed(0)
    nets = [torch.nn.Linear(4, 1).double() for _ in range(3)]
    x = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    weights = torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64)

    def objective(logits: torch.Tensor) -> torch.Tensor:
        combined = universal_logit(logits, weights)
        return functional.binary_cross_entropy_with_logits(combined, torch.ones_like(combined))

    (direct,) = torch.autograd.grad(objective(torch.stack([n(x).squeeze(1) for n in nets])), x)
    logits = torch.stack([n(x).squeeze(1).detach() for n in nets])
    grads = torch.stack([torch.autograd.grad(n(x).sum(), x)[0] for n in nets])
    feedback, _ = chain_rule(objective, logits, grads)
    assert torch.allclose(feedback.sum(0), direct)


def test_generator_loss_is_the_universal_one_and_no_weights_travel(make_engine) -> None:  # noqa: F811
    ups: dict[int, dict] = {}
    downs: list[torch.Tensor] = []
    engine = None

    def spy(delivery: Delivery) -> None:
        arrays = delivery.message.arrays
        for array in arrays.values():
            for module in (engine.server.generator, *(c.discriminator for c in engine.clients.values())):
                assert not any(array.shape == p.shape and torch.equal(array, p) for p in module.state_dict().values())
        if delivery.direction == "up":
            ups[delivery.client] = {"logits": arrays["logits"], "n": float(delivery.message.config["num_examples"])}
        else:
            downs.append(arrays["fake_g"])

    engine = make_engine("ua-gan", rounds=1, clients=4, **{"data.partition": "quantity"}, observer=spy)
    engine.run()
    assert all(torch.equal(d, downs[0]) for d in downs)  # every site judges the same samples
    order = sorted(ups)
    logits = torch.stack([ups[c]["logits"] for c in order]).double()
    sizes = torch.tensor([ups[c]["n"] for c in order], dtype=torch.float64)
    odds = ((sizes / sizes.sum())[:, None] * torch.exp(logits)).sum(0)
    expected = float(-torch.log(odds / (1 + odds)).mean())
    g_loss = engine.history[0]["metrics"]["g_loss"]
    assert abs(g_loss - expected) < 1e-5
    plain_mean = float(functional.softplus(-logits).mean())  # what an MD-GAN-style average would report
    assert abs(g_loss - plain_mean) > 1e-3
