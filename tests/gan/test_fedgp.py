"""FedGP: only the generator is federated (size-weighted FedAvg); each discriminator stays private to its client."""

from __future__ import annotations

import torch
from runtime.conftest import make_engine  # noqa: F401  (the fixture)

from fedgen_registry.federation.local import Delivery


def test_only_generators_travel_and_are_size_weighted(make_engine) -> None:  # noqa: F811
    replies: dict[int, tuple[dict[str, torch.Tensor], float]] = {}
    names: set[str] = set()
    engine = None

    def spy(delivery: Delivery) -> None:
        names.update(delivery.message.arrays)
        for array in delivery.message.arrays.values():
            for client in engine.clients.values():
                disc = client.discriminator.state_dict().values()
                assert not any(array.shape == p.shape and torch.equal(array, p) for p in disc)
        if delivery.direction == "up" and delivery.server_round == 2:
            replies[delivery.client] = (dict(delivery.message.arrays), float(delivery.message.config["num_examples"]))

    engine = make_engine("fedgp", rounds=2, clients=3, local_steps=1, **{"data.partition": "quantity"}, observer=spy)
    initial = {
        cid: {k: v.clone() for k, v in c.discriminator.state_dict().items()} for cid, c in engine.clients.items()
    }
    engine.run()
    assert names and all(name.startswith("g.") for name in names)
    sizes = torch.tensor([replies[c][1] for c in sorted(replies)], dtype=torch.float64)
    assert len(set(sizes.tolist())) > 1
    for name, value in engine.server.generator.state_dict().items():
        stacked = torch.stack([replies[c][0]["g." + name].double() for c in sorted(replies)])
        expected = (sizes / sizes.sum()).view(-1, *[1] * (stacked.dim() - 1)).mul(stacked).sum(0)
        assert torch.allclose(value.double(), expected, atol=1e-6), name
    discs = [c.discriminator.state_dict()["net.0.weight"] for c in engine.clients.values()]
    assert all(not torch.equal(d, initial[cid]["net.0.weight"]) for cid, d in zip(engine.clients, discs, strict=True))
    assert not torch.equal(discs[0], discs[1])  # private: never averaged into one
