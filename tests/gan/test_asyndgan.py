"""AsynDGAN: sites send conditions and verdicts (plus the L1 gradient only they can compute), never images or weights."""

from __future__ import annotations

import torch
from runtime.conftest import make_engine  # noqa: F401  (the fixture)
from torch.nn import functional

from fedgen_registry.federation.local import Delivery


def test_round_trip_of_conditions_verdicts_and_reconstruction(make_engine) -> None:  # noqa: F811
    seen: dict[tuple[str, str, int], dict[str, torch.Tensor]] = {}

    def spy(delivery: Delivery) -> None:
        seen[(delivery.stage, delivery.direction, delivery.client)] = dict(delivery.message.arrays)
        seen[(delivery.stage, delivery.direction, delivery.client)]["config"] = dict(delivery.message.config)

    engine = make_engine("asyndgan", rounds=1, clients=3, modalities=2, missing_modality_sites=1, observer=spy)
    engine.run()
    weight = engine.algorithm.config.l1_weight
    g_loss = 0.0
    for cid, site in engine.clients.items():
        sent, judged = seen[("conditions", "up", cid)], seen[("train", "down", cid)]
        reply = seen[("train", "up", cid)]
        assert set(sent) - {"config"} == {"cond"} and set(reply) - {"config"} == {"logits", "logit_grad", "l1_grad"}
        assert torch.equal(judged["cond_g"], sent["cond"])  # the generator drew from this site's own masks
        real = site.data.x[site._pending]
        held = site.available
        expected = weight * torch.sign(judged["fake_g"] - real) * held / (len(real) * held.sum())
        assert torch.allclose(reply["l1_grad"], expected)
        missing = held == 0
        assert bool(missing.any()) == (cid == 0)
        assert torch.all(reply["l1_grad"][:, missing] == 0) and torch.all(reply["logit_grad"][:, missing] == 0)
        g_loss += float(functional.softplus(-reply["logits"]).mean())
    assert abs(engine.history[0]["metrics"]["g_loss"] - g_loss) < 1e-5  # the sum over sites, not their mean


def test_sequential_schedule_visits_the_sites_one_after_another(make_engine) -> None:  # noqa: F811
    engine = make_engine("asyndgan", rounds=4, clients=2, schedule="sequential", **{"optim.batch_size": 8})
    engine.run()
    assert [record["sampled"] for record in engine.history] == [[0], [0], [1], [1]]
