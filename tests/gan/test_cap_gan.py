"""CAP-GAN: only the Mix-G sharing layers travel; edges average every round, the cloud every few rounds."""

from __future__ import annotations

import torch
from runtime.conftest import make_engine  # noqa: F401  (the fixture)

from fedgen_registry.federation.local import Delivery

SHARING = {"g.net.0.weight", "g.net.0.bias", "g.net.2.weight", "g.net.2.bias"}


def test_only_sharing_layers_travel_and_personal_layers_stay(make_engine) -> None:  # noqa: F811
    names: set[str] = set()
    engine = None
    leaks: list[str] = []

    def spy(delivery: Delivery) -> None:
        names.update(delivery.message.arrays)
        private = [engine.clients[delivery.client].generator.state_dict()["net.4.weight"]]
        private += list(engine.clients[delivery.client].discriminator.state_dict().values())
        for array in delivery.message.arrays.values():
            if any(array.shape == p.shape and torch.equal(array, p) for p in private):
                leaks.append(f"{delivery.server_round} {delivery.direction}")

    engine = make_engine("cap-gan", rounds=2, local_steps=1, observer=spy)
    engine.run()
    assert names == SHARING and not leaks
    personal = [c.generator.state_dict()["net.4.weight"] for c in engine.clients.values()]
    assert not torch.equal(personal[0], personal[1])  # every device ends with its own output stage


def test_edges_average_each_round_and_the_cloud_every_few(make_engine) -> None:  # noqa: F811
    received: dict[tuple[int, int], torch.Tensor] = {}

    def spy(delivery: Delivery) -> None:
        if delivery.direction == "down":
            received[(delivery.server_round, delivery.client)] = delivery.message.arrays["g.net.0.weight"]

    engine = make_engine("cap-gan", rounds=4, local_steps=1, edges=2, cloud_every=3, observer=spy)
    engine.run()
    edge_of = engine.server.edge_of
    assert edge_of == [0] * 5 + [1] * 5
    # round 3 starts from the edge models of round 2 (no cloud yet): same within an edge, different across
    assert torch.equal(received[(3, 0)], received[(3, 4)])
    assert not torch.equal(received[(3, 0)], received[(3, 5)])
    # the cloud aggregated after round 3, so every device starts round 4 from the same sharing layers
    assert all(torch.equal(received[(4, 0)], received[(4, c)]) for c in range(10))
