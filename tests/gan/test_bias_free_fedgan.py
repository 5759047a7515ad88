"""Bias-Free FedGAN: same messages as FedGAN, then retraining on metadata drawn evenly from client generators."""

from __future__ import annotations

import torch
from runtime.conftest import make_engine  # noqa: F401  (the fixture)

from fedgen_registry.federation.arrays import module_arrays
from fedgen_registry.federation.local import Delivery
from fedgen_registry.federation.protocol import Message


def _generator_after_one_round(make_engine, tmp_path, retrain_steps: int):  # noqa: F811
    replies: dict[int, Message] = {}

    def spy(delivery: Delivery) -> None:
        assert all(name[:2] in ("g.", "d.") for name in delivery.message.arrays)  # FedGAN's payload only
        if delivery.direction == "up":
            replies[delivery.client] = delivery.message

    engine = make_engine(
        "bias-free-fedgan",
        rounds=1,
        clients=3,
        local_steps=1,
        **{"data.partition": "quantity"},
        retrain_steps=retrain_steps,
        observer=spy,
        run_dir=tmp_path / str(retrain_steps),
    )
    engine.run()
    return engine, replies


def test_the_averaged_gan_is_retrained_on_metadata(make_engine, tmp_path) -> None:  # noqa: F811
    plain, replies = _generator_after_one_round(make_engine, tmp_path, retrain_steps=0)
    sizes = {c: float(r.config["num_examples"]) for c, r in replies.items()}
    mean = sum((sizes[c] / sum(sizes.values())) * replies[c].arrays["g.net.0.weight"].double() for c in sorted(replies))
    assert torch.allclose(plain.server.generator.state_dict()["net.0.weight"].double(), mean, atol=1e-6)
    retrained, _ = _generator_after_one_round(make_engine, tmp_path, retrain_steps=3)
    after = retrained.server.generator.state_dict()["net.0.weight"]
    assert not torch.allclose(after, plain.server.generator.state_dict()["net.0.weight"], atol=1e-4)
    assert set(retrained.server.metadata_sources) == set(replies)


def test_metadata_takes_equal_rows_from_each_received_generator(make_engine) -> None:  # noqa: F811
    engine = make_engine("bias-free-fedgan", clients=2, metadata_per_client=7, **{"data.partition": "iid"})
    server = engine.server
    replies = {}
    for cid, (level, size) in enumerate(((0.5, 1000), (-0.5, 3))):  # very unequal client sizes
        arrays = {name: torch.zeros_like(v) for name, v in module_arrays(server.generator, "g.").items()}
        arrays["g.net.4.bias"] = torch.full_like(arrays["g.net.4.bias"], level)  # a constant image tanh(level)
        replies[cid] = Message("train.fedavg", arrays, {"num_examples": size})
    metadata = server.metadata([0, 1], replies)
    assert metadata.x.shape[0] == 14
    high = torch.isclose(metadata.x, torch.tanh(torch.tensor(0.5))).all(dim=1)
    low = torch.isclose(metadata.x, torch.tanh(torch.tensor(-0.5))).all(dim=1)
    assert int(high.sum()) == 7 and int(low.sum()) == 7
