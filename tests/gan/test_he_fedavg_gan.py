"""HE-FedAvg-GAN: the server averages CKKS ciphertexts under a public context only, and the encrypted mean equals
the plaintext FedAvg of the clients' networks within CKKS precision."""

from __future__ import annotations

import pytest
import torch
from runtime.conftest import make_engine  # noqa: F401  (the fixture)
from torch import nn

from fedgen_registry.federation.errors import FederationError
from fedgen_registry.federation.local import Delivery
from fedgen_registry.mechanisms.crypto.ckks import CKKSConfig, CKKSKeys, decrypt, encrypt, weighted_sum
from fedgen_registry.mechanisms.privacy.updates import flatten
from fedgen_registry.strategies.gan import pair_arrays

CKKS_TOLERANCE = 1e-5
"""Scale 2^40: encoding and one plaintext multiplication leave errors of order 1e-7 on values of order 1."""

ONE_ROUND = {"rounds": 1, "clients": 3, "local_steps": 1, "data.partition": "quantity", "data.alpha": 1.0}


def test_encrypted_aggregation_equals_plaintext_fedavg(make_engine) -> None:  # noqa: F811
    uploads: dict[int, Delivery] = {}

    def spy(delivery: Delivery) -> None:
        if delivery.direction == "up":
            uploads[delivery.client] = delivery

    engine = make_engine("he-fedavg-gan", **ONE_ROUND, observer=spy)
    engine.run()
    keys = engine.algorithm.keys
    order = sorted(uploads)
    sizes = [float(uploads[cid].message.config["num_examples"]) for cid in order]
    plain = [decrypt(uploads[cid].message.arrays, keys.secret) for cid in order]
    for cid, vector in zip(order, plain, strict=True):  # each upload encrypts exactly the client's trained networks
        client = engine.clients[cid]
        held = flatten(pair_arrays(client.generator, client.discriminator))
        assert float((vector - held).abs().max()) < CKKS_TOLERANCE
    fedavg = sum(n / sum(sizes) * v for n, v in zip(sizes, plain, strict=True))
    aggregated = decrypt(engine.server.global_model, keys.secret, engine.server.divisor)
    assert float((aggregated - fedavg).abs().max()) < CKKS_TOLERANCE
    unweighted = sum(plain) / len(plain)
    assert float((fedavg - unweighted).abs().max()) > 100 * CKKS_TOLERANCE  # the data-size weights really matter
    assert engine.server.last_weights == pytest.approx({c: n / sum(sizes) for c, n in zip(order, sizes, strict=True)})


def test_the_server_only_ever_handles_ciphertexts(make_engine) -> None:  # noqa: F811
    seen: list[Delivery] = []
    engine = make_engine("he-fedavg-gan", **ONE_ROUND, observer=seen.append)
    server = engine.server
    assert not server.public.is_private()
    with pytest.raises(FederationError, match="secret key"):
        decrypt(server.global_model, server.public)
    engine.run()
    assert {d.direction for d in seen} == {"down", "up"}
    for delivery in seen:  # every array on the wire, either way, is a serialised ciphertext
        assert delivery.message.arrays
        assert all(name.startswith("ct.") for name in delivery.message.arrays)
        assert all(array.dtype == torch.uint8 for array in delivery.message.arrays.values())
    assert all(array.dtype == torch.uint8 for array in server.state_dict()["global_model"].values())
    assert not any(isinstance(value, nn.Module) for value in vars(server).values())


def test_weighted_sum_on_ciphertexts_matches_the_plain_one_and_encryption_is_randomised() -> None:
    keys = CKKSKeys.generate(CKKSConfig())
    generator = torch.Generator().manual_seed(0)
    vectors = [torch.randn(keys.slots + 100, generator=generator, dtype=torch.float64) for _ in range(3)]
    encrypted = [encrypt(v, keys) for v in vectors]
    assert len(encrypted[0]) == 2  # longer than one ciphertext: split into slot-sized pieces
    weights = [5, 3, 2]  # whole-number weights (example counts); the mean divides by their sum on decryption
    total = decrypt(weighted_sum(encrypted, weights, keys.public), keys.secret, sum(weights))
    plain = sum(w / 10 * v for w, v in zip(weights, vectors, strict=True))
    assert float((total - plain).abs().max()) < CKKS_TOLERANCE
    again = encrypt(vectors[0], keys)
    assert not torch.equal(again["ct.0000"], encrypted[0]["ct.0000"])  # fresh randomness every encryption
