"""FedGAN: agents keep their optimisers across syncs, follow the two-time-scale rates, and are averaged."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from runtime.conftest import make_engine  # noqa: F401  (the fixture)

from fedgen_registry.federation.local import Delivery
from fedgen_registry.implementations.generation.gan.fedgan import step_sizes
from fedgen_registry.runs.runner import RunError
from fedgen_registry.strategies.gan import AveragedGeneratorServer


def test_sync_averages_by_data_share_and_agents_keep_their_optimisers(make_engine) -> None:  # noqa: F811
    replies: dict[int, dict[str, torch.Tensor]] = {}

    def spy(delivery: Delivery) -> None:
        if delivery.direction == "up" and delivery.server_round == 2:
            replies[delivery.client] = dict(delivery.message.arrays)

    engine = make_engine("fedgan", rounds=2, clients=3, sync_interval=2, **{"data.partition": "quantity"}, observer=spy)
    engine.run()
    sizes = np.array([len(engine.algorithm.parts[c]) for c in sorted(replies)], dtype=np.float64)
    expected = sum(
        w * replies[c]["g.net.0.weight"].double() for c, w in zip(sorted(replies), sizes / sizes.sum(), strict=True)
    )
    assert torch.equal(engine.server.generator.state_dict()["net.0.weight"], expected.float())
    for agent in engine.clients.values():
        # Adam's step count runs on across the sync: 2 rounds x K = 2 steps, never reset to a fresh solver
        assert agent.step == 4
        assert all(int(s["step"]) == 4 for s in agent.opt_g.state_dict()["state"].values())


def test_agents_use_the_two_time_scale_schedule(make_engine) -> None:  # noqa: F811
    engine = make_engine("fedgan", rounds=2, clients=2, sync_interval=3, decay_d=0.2, decay_g=0.6)
    engine.run()
    optim = engine.algorithm.config.optim
    lr_d, lr_g = step_sizes(5, optim, 0.2, 0.6)  # the last of 6 steps
    for agent in engine.clients.values():
        assert agent.opt_d.param_groups[0]["lr"] == pytest.approx(lr_d)
        assert agent.opt_g.param_groups[0]["lr"] == pytest.approx(lr_g)
    assert lr_g / optim.lr_g < lr_d / optim.lr_d < 1.0  # the generator is the slow time scale


def test_generator_decaying_slower_than_the_discriminator_is_refused(make_engine) -> None:  # noqa: F811
    with pytest.raises(RunError, match="decay_g >= decay_d"):
        make_engine("fedgan", decay_d=0.5, decay_g=0.1)


def test_agents_train_with_the_configured_loss_and_the_server_may_average_the_generator(
    make_engine,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fedgen_registry.implementations.generation.gan import fedgan

    losses: list[str] = []
    for name in ("generator_loss", "discriminator_step"):
        original = getattr(fedgan, name)

        def spy(*args, original=original):
            losses.append(args[-1])
            return original(*args)

        monkeypatch.setattr(fedgan, name, spy)
    engine = make_engine("fedgan", rounds=1, clients=2, sync_interval=2, ema=0.5, **{"optim.loss": "hinge"})
    assert isinstance(engine.server, AveragedGeneratorServer)  # the intermediary's moving average, judged
    engine.run()
    assert losses == ["hinge"] * 8  # 2 agents x 2 steps x (D step, G loss)
