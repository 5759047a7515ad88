"""CKKS aggregation is reproducible: encryption stays randomised, but the values are encrypted as whole numbers on
a fixed-point grid and rounded back on decryption, so the noise never reaches a model and two identical runs of
HE-FedAvg-GAN or PP-FedGAN end in bit-identical plaintext state (they did not before: KID 2.59 against 2.49)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tenseal as ts
import torch
from runtime.conftest import make_engine  # noqa: F401  (the fixture)

from fedgen_registry.federation.errors import FederationError
from fedgen_registry.mechanisms.crypto.ckks import (
    GRID_BITS,
    PREFIX,
    CKKSConfig,
    CKKSKeys,
    decrypt,
    encrypt,
    weighted_sum,
)
from fedgen_registry.mechanisms.privacy.updates import flatten
from fedgen_registry.strategies.gan import pair_arrays

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # Opacus: secure RNG off; full backward hooks


def test_fresh_encryptions_differ_yet_decrypt_to_the_same_bits() -> None:
    keys = CKKSKeys.generate(CKKSConfig())
    vectors = [
        torch.randn(keys.slots + 7, generator=torch.Generator().manual_seed(i), dtype=torch.float64) for i in (0, 1)
    ]
    first, second = ([encrypt(v, keys) for v in vectors] for _ in range(2))
    assert not torch.equal(first[0][f"{PREFIX}0000"], second[0][f"{PREFIX}0000"])  # randomised ciphertexts
    counts = [3000, 1234]
    means = [decrypt(weighted_sum(run, counts, keys.public), keys.secret, sum(counts)) for run in (first, second)]
    assert torch.equal(means[0], means[1])
    grid = torch.round(torch.ldexp(torch.stack(vectors), torch.tensor(GRID_BITS)))
    exact = (counts[0] * grid[0] + counts[1] * grid[1]) / sum(counts) * 2.0**-GRID_BITS
    assert torch.equal(means[0], exact)  # the exact FedAvg of the grid values, not an approximation of it


def test_decryption_refuses_values_the_rounding_cannot_make_exact() -> None:
    keys = CKKSKeys.generate(CKKSConfig())
    off_grid = {
        f"{PREFIX}0000": torch.frombuffer(
            bytearray(ts.ckks_vector(keys.public, [0.3, 1.5]).serialize()), dtype=torch.uint8
        )
    }
    with pytest.raises(FederationError, match="whole number"):
        decrypt(off_grid, keys.secret)
    with pytest.raises(ValueError, match="whole-number weights"):
        weighted_sum([encrypt(torch.ones(3), keys)], [0.5], keys.public)


@pytest.mark.parametrize(
    "implementation, settings",
    [
        ("he-fedavg-gan", {"rounds": 2, "clients": 3, "local_steps": 2}),
        ("pp-fedgan", {"rounds": 2, "clients": 2, "local_steps": 2}),
    ],
)
def test_two_identical_runs_end_in_bit_identical_state(
    make_engine: Callable[..., Any],  # noqa: F811
    tmp_path: Path,
    implementation: str,
    settings: dict[str, Any],
) -> None:
    ends = []
    for attempt in ("a", "b"):
        engine = make_engine(implementation, **settings, run_dir=tmp_path / attempt)
        history = engine.run()
        server, secret = engine.server, engine.algorithm.keys.secret
        clients = {cid: flatten(pair_arrays(c.generator, c.discriminator)) for cid, c in engine.clients.items()}
        ends.append((decrypt(server.global_model, secret, server.divisor), clients, [r["metrics"] for r in history]))
    (model_a, clients_a, metrics_a), (model_b, clients_b, metrics_b) = ends
    assert torch.equal(model_a, model_b)
    assert all(torch.equal(clients_a[cid], clients_b[cid]) for cid in clients_a)
    assert metrics_a == metrics_b
