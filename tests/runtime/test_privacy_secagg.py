"""Secure aggregation: the server sees masked vectors only, and the masks cancel exactly, with drop-outs too."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fedgen_registry.federation.errors import FederationError
from fedgen_registry.federation.protocol import Message
from fedgen_registry.mechanisms.crypto.secagg import SecAggClient, SecAggServer, decode, encode, shared_seed

LENGTH = 500


def one_round(
    updates: dict[int, torch.Tensor], drop: set[int]
) -> tuple[dict[int, np.ndarray], torch.Tensor, dict[int, SecAggClient]]:
    """Keys from everybody, masked updates from all but ``drop``, seeds revealed: (server-visible, sum, clients)."""
    clients = {cid: SecAggClient(cid) for cid in updates}
    server = SecAggServer()
    server.collect_keys({cid: client.advertise() for cid, client in clients.items()})
    peers = server.peer_arrays()
    uploads = {
        cid: Message("train", clients[cid].mask_update(updates[cid], peers)) for cid in updates if cid not in drop
    }
    server.collect_masked(uploads)
    assert server.dropped == sorted(drop)
    requests = server.reveal_requests(server.survivors)
    total = server.unmask({cid: clients[cid].reveal(message) for cid, message in requests.items()})
    visible = {cid: m.arrays["masked"].numpy().view(np.uint64) for cid, m in uploads.items()}
    return visible, total, clients


def updates(count: int) -> dict[int, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return {cid: torch.randn(LENGTH, generator=generator, dtype=torch.float64) for cid in range(count)}


def test_masked_updates_hide_the_raw_ones_and_their_sum_is_exact() -> None:
    raw = updates(5)
    visible, total, _ = one_round(raw, drop=set())
    for cid, masked in visible.items():
        assert np.mean(masked == encode(raw[cid])) < 0.01  # essentially every coordinate is masked
    plain = sum(encode(v) for v in raw.values())  # the plain sum on the same fixed-point ring
    assert np.array_equal(encode(total), plain)  # exact: integers, no rounding
    assert torch.equal(total, decode(plain))
    assert float((total - sum(raw.values())).abs().max()) < len(raw) * 2.0**-32


def test_a_dropped_client_still_gives_the_exact_sum_of_the_survivors() -> None:
    raw = updates(5)
    _, total, _ = one_round(raw, drop={2})
    survivors = sum(encode(v) for cid, v in raw.items() if cid != 2)
    assert np.array_equal(encode(total), survivors)


def test_unmasking_without_the_survivors_seeds_is_refused() -> None:
    """Without the seeds the dropped client's masks would remain in the sum, so the server stops instead."""
    raw = updates(3)
    clients = {cid: SecAggClient(cid) for cid in raw}
    server = SecAggServer()
    server.collect_keys({cid: client.advertise() for cid, client in clients.items()})
    peers = server.peer_arrays()
    server.collect_masked({cid: Message("train", clients[cid].mask_update(raw[cid], peers)) for cid in (0, 1)})
    with pytest.raises(FederationError, match="did not reveal"):
        server.unmask({})


def test_pairwise_seeds_agree_only_within_a_pair() -> None:
    _, _, clients = one_round(updates(3), drop=set())
    keys = {cid: client._key for cid, client in clients.items()}
    public = {cid: key.public_key().public_bytes_raw() for cid, key in keys.items()}
    assert shared_seed(keys[0], public[1]) == shared_seed(keys[1], public[0])
    assert shared_seed(keys[0], public[1]) != shared_seed(keys[0], public[2])


def test_encoding_refuses_values_that_would_overflow_the_ring() -> None:
    with pytest.raises(ValueError, match="overflow"):
        encode(torch.tensor([2.0**31], dtype=torch.float64))
