"""FedAvg-GAN: the new global networks are exactly the client-size-weighted mean of the clients' networks."""

from __future__ import annotations

import numpy as np
import torch

from fedgen_registry.federation.local import Delivery


def test_aggregate_is_the_size_weighted_mean_of_client_parameters(make_engine) -> None:
    replies: dict[int, dict] = {}

    def spy(delivery: Delivery) -> None:
        if delivery.direction == "up":
            replies[delivery.client] = {"arrays": dict(delivery.message.arrays), **delivery.message.config}

    engine = make_engine(
        "fedavg-gan",
        rounds=1,
        local_steps=1,
        clients=4,
        **{"data.partition": "quantity", "data.alpha": 0.5},
        observer=spy,
    )
    engine.run()
    sizes = np.array([replies[c]["num_examples"] for c in sorted(replies)], dtype=np.float64)
    assert sizes.tolist() == [len(engine.algorithm.parts[c]) for c in sorted(replies)] and len(set(sizes)) > 1
    server = {**{"g." + k: v for k, v in engine.server.generator.state_dict().items()}}
    server |= {"d." + k: v for k, v in engine.server.discriminator.state_dict().items()}
    weighed: list[str] = []
    for name, value in server.items():
        stacked = np.stack([replies[c]["arrays"][name].numpy().astype(np.float64) for c in sorted(replies)])
        expected = np.zeros(stacked.shape[1:])
        for weight, array in zip(sizes / sizes.sum(), stacked, strict=True):
            expected += weight * array
        assert torch.equal(value, torch.from_numpy(expected.astype(np.float32))), name
        if not torch.equal(value, torch.from_numpy(stacked.mean(axis=0).astype(np.float32))):
            weighed.append(name)
    # a test that could not tell weighting from a plain mean would prove nothing
    assert {"g.net.0.weight", "d.net.0.weight"} <= set(weighed)
