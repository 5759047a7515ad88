"""The DP-FedAvg wrapper around a FedAvg server: what the inner server ends up holding is the sent model plus the
clipped, noised sum of the updates over the expected number of clients, never the plain weighted mean, and the
wrapper's only state (its releases, which the accountant composes) survives a checkpoint."""

from __future__ import annotations

import pytest
import torch

from fedgen_registry.federation.protocol import Message
from fedgen_registry.federation.seeding import derive_seed
from fedgen_registry.mechanisms.privacy.dp_fedavg import ClientDPConfig, DPFedAvg, clip, noisy_average
from fedgen_registry.mechanisms.privacy.updates import difference, flatten, unflatten
from fedgen_registry.models.gan import MLPDiscriminator, MLPGenerator
from fedgen_registry.strategies.gan import PairServer

SEED, CLIP, NOISE = 7, 0.05, 0.5


def wrapped(noise: float = NOISE) -> DPFedAvg:
    torch.manual_seed(0)
    inner = PairServer(MLPGenerator(4, 8, 6), MLPDiscriminator(6, 8), clients_per_round=2)
    config = ClientDPConfig(clip_norm=CLIP, noise_multiplier=noise)
    return DPFedAvg(inner, config, num_clients=4, seed=SEED)


def trained(sent: dict[str, torch.Tensor]) -> dict[int, Message]:
    """Two FedAvg-GAN replies whose networks moved far (norm >> C), with different data sizes."""
    return {
        cid: Message("train.fedavg", {k: v + 0.1 * (cid + 1) for k, v in sent.items()}, config)
        for cid, config in (
            (0, {"num_examples": 10, "d_loss": 1.0, "g_loss": 2.0}),
            (1, {"num_examples": 30, "d_loss": 3.0, "g_loss": 4.0}),
        )
    }


@pytest.mark.parametrize("noise", [0.0, NOISE])
def test_the_inner_server_holds_the_clipped_noised_average_not_the_fedavg_mean(noise: float) -> None:
    server = wrapped(noise)
    messages = server.configure("train", 1, [0, 1])
    sent = dict(messages[0].arrays)
    replies = trained(sent)
    metrics = server.aggregate("train", 1, replies)

    total = sum(clip(flatten(difference(replies[cid].arrays, sent)), CLIP)[0] for cid in (0, 1))
    generator = torch.Generator().manual_seed(derive_seed(SEED, 1, "dp-fedavg-noise"))
    update = unflatten(noisy_average(total, CLIP, noise, 2, generator), sent)
    expected = {name: sent[name] + update[name] for name in sent}
    held = server.inner.arrays()
    assert all(torch.equal(held[name], expected[name]) for name in sent)  # the release, bit for bit
    moved = float(torch.linalg.vector_norm(flatten(held) - flatten(sent)))
    assert moved < 10 * CLIP
    if noise == 0:
        assert moved == pytest.approx(CLIP, rel=1e-4)  # two updates clipped to C, same direction, over 2 clients
    plain = wrapped(noise).inner  # the same FedAvg server without the wrapper, on the same replies
    plain.configure("train", 1, [0, 1])
    plain.aggregate("train", 1, replies)
    assert float(torch.linalg.vector_norm(flatten(plain.arrays()) - flatten(sent))) > 50 * CLIP
    assert metrics["clients_aggregated"] == 2.0 and metrics["d_loss"] == pytest.approx(2.0)  # losses pass through
    assert server.releases == 1


def test_releases_checkpoint_and_keep_the_accounting() -> None:
    server = wrapped()
    for server_round in (1, 2):
        server.aggregate(
            "train", server_round, trained(dict(server.configure("train", server_round, [0, 1])[0].arrays))
        )
    state = server.state_dict()
    assert state["releases"] == 2 and {"generator", "discriminator"} <= set(state)
    restored = wrapped()
    restored.load_state_dict(state)
    assert restored.releases == 2 and restored.ledger() == server.ledger()
    assert restored.ledger().steps == 2 and restored.ledger().epsilon > 0
    assert torch.equal(flatten(restored.inner.arrays()), flatten(server.inner.arrays()))
