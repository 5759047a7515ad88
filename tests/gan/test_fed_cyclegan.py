"""Federated CycleGAN: one-domain clients whose local objectives add up to the CycleGAN loss; one switchable pair."""

from __future__ import annotations

import torch
from runtime.conftest import make_engine  # noqa: F401  (the fixture)

from fedgen_registry.federation.local import Delivery
from fedgen_registry.implementations.generation.gan.fed_cyclegan import local_losses
from fedgen_registry.tasks.translation import contrast


def _mse(prediction: torch.Tensor, target: float) -> torch.Tensor:
    return ((prediction - target) ** 2).mean()


def test_local_objectives_add_up_to_the_centralised_cyclegan_loss(make_engine) -> None:  # noqa: F811
    engine = make_engine("fed-cyclegan", rounds=1)
    algorithm, cycle = engine.algorithm, engine.algorithm.config.cycle
    g, d = algorithm.new_generator(), algorithm.new_discriminator()
    a, b = torch.rand(8, 64) * 2 - 1, torch.rand(8, 64) * 2 - 1
    g_a, d_a = local_losses(g, d, a, 0, cycle)  # a client of domain a sees only a
    g_b, d_b = local_losses(g, d, b, 1, cycle)  # a client of domain b sees only b

    def g_ab(x):
        return g(x, 1)

    def g_ba(x):
        return g(x, 0)

    def d_a_(x):
        return d(x, 0)

    def d_b_(x):
        return d(x, 1)

    # the textbook CycleGAN objective, written with both domains' data in one place
    generator = (
        _mse(d_b_(g_ab(a)), 1.0)
        + _mse(d_a_(g_ba(b)), 1.0)
        + cycle.lambda_cyc * ((g_ba(g_ab(a)) - a).abs().mean() + (g_ab(g_ba(b)) - b).abs().mean())
        + cycle.lambda_identity * ((g_ba(a) - a).abs().mean() + (g_ab(b) - b).abs().mean())
    )
    discriminator = 0.5 * (_mse(d_a_(a), 1.0) + _mse(d_a_(g_ba(b)), 0.0)) + 0.5 * (
        _mse(d_b_(b), 1.0) + _mse(d_b_(g_ab(a)), 0.0)
    )
    assert cycle.lambda_identity > 0 and cycle.lambda_cyc > 0
    assert torch.allclose(g_a + g_b, generator, atol=1e-5)
    assert torch.allclose(d_a + d_b, discriminator, atol=1e-5)


def test_clients_hold_one_domain_and_share_one_switchable_pair(make_engine) -> None:  # noqa: F811
    uploads: dict[int, dict] = {}

    def spy(delivery: Delivery) -> None:
        if delivery.direction == "up":
            uploads[delivery.client] = {"arrays": dict(delivery.message.arrays), **delivery.message.config}

    engine = make_engine("fed-cyclegan", rounds=1, clients=4, local_steps=1, observer=spy)
    engine.run()
    algorithm = engine.algorithm
    for cid, client in engine.clients.items():
        assert uploads[cid]["domain"] == cid % 2 == client.domain
        rows = torch.as_tensor(algorithm.train.x[algorithm.parts[cid]])
        assert torch.equal(client.data.x, contrast(rows, "t1" if cid % 2 == 0 else "t2"))
    server = engine.server
    names = {"g." + k for k in server.generator.state_dict()} | {"d." + k for k in server.discriminator.state_dict()}
    assert all(set(u["arrays"]) == names for u in uploads.values())
    assert {"g.codes.weight", "d.codes.weight"} <= names  # one network per role, switched by its domain codes
    sizes = {cid: float(u["num_examples"]) for cid, u in uploads.items()}
    assert server.last_weights["generator"] == {cid: n / sum(sizes.values()) for cid, n in sizes.items()}
    x = torch.rand(4, 64) * 2 - 1
    with torch.no_grad():
        assert not torch.allclose(server.generator(x, 0), server.generator(x, 1))
