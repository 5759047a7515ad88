"""EFFGAN: FedAvg first; the last round's fine-tuned generators become the sampled ensemble, unaveraged."""

from __future__ import annotations

import torch
from runtime.conftest import make_engine  # noqa: F401  (the fixture)

from fedgen_registry.federation.local import Delivery


def test_last_round_builds_an_ensemble_of_the_fine_tuned_generators(make_engine) -> None:  # noqa: F811
    uploads: dict[int, dict[str, torch.Tensor]] = {}
    stages: dict[int, set[str]] = {}

    def spy(delivery: Delivery) -> None:
        stages.setdefault(delivery.server_round, set()).add(delivery.message.message_type)
        if delivery.direction == "up" and delivery.stage == "finetune":
            uploads[delivery.client] = dict(delivery.message.arrays)
            assert not any(name.startswith("d.") for name in delivery.message.arrays)

    engine = make_engine(
        "effgan", rounds=3, clients=4, local_steps=1, finetune_steps=2, observer=spy, **{"data.partition": "iid"}
    )
    engine.run()
    assert stages == {1: {"train.fedavg"}, 2: {"train.fedavg"}, 3: {"train.finetune"}}
    server = engine.server
    assert sorted(server.experts) == sorted(uploads) == [0, 1, 2, 3]
    for cid, expert in server.experts.items():
        for name, value in expert.state_dict().items():
            assert torch.equal(value, uploads[cid]["g." + name])  # kept as uploaded: no averaging
    experts = [server.experts[c].state_dict()["net.0.weight"] for c in range(4)]
    assert not torch.equal(experts[0], experts[1])
    mixture = server.ensemble()
    sizes = torch.tensor([len(engine.algorithm.parts[c]) for c in range(4)], dtype=torch.float64)
    assert torch.allclose(mixture.probabilities, sizes / sizes.sum())
    assert mixture(torch.randn(50, engine.algorithm.config.model.latent_dim)).shape == (50, 64)


def test_every_client_fine_tunes_even_when_rounds_sample_a_few(make_engine) -> None:  # noqa: F811
    sampled: dict[int, set[int]] = {}

    def spy(delivery: Delivery) -> None:
        if delivery.direction == "down":
            sampled.setdefault(delivery.server_round, set()).add(delivery.client)

    settings = {"clients_per_round": 2, "local_steps": 1, "finetune_steps": 1, "data.partition": "iid"}
    engine = make_engine("effgan", rounds=3, clients=4, observer=spy, **settings)
    engine.run()
    assert len(sampled[1]) == len(sampled[2]) == 2  # FedAvg rounds sample clients_per_round
    assert sampled[3] == {0, 1, 2, 3} and sorted(engine.server.experts) == [0, 1, 2, 3]
