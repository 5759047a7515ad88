"""PP-FedGAN: DP-SGD noise is really added to every client's discriminator steps, what leaves a client is CKKS
ciphertexts only, the server's encrypted mean equals the plaintext FedAvg, and privacy.json names both layers."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from opacus.accountants import RDPAccountant
from runtime.accounting_reference import check_epsilon
from runtime.conftest import make_engine  # noqa: F401  (the fixture)
from runtime.settings import FAST_EVAL

from fedgen_registry.federation.local import Delivery
from fedgen_registry.mechanisms.crypto.ckks import decrypt
from fedgen_registry.mechanisms.privacy import dp_sgd
from fedgen_registry.mechanisms.privacy.ledger import read_ledger
from fedgen_registry.runs.runner import run
from gan.test_feddpgan import record_noise
from gan.test_he_fedavg_gan import CKKS_TOLERANCE

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # Opacus: secure RNG off; full backward hooks
ONE_ROUND = {"rounds": 1, "clients": 2, "local_steps": 2}


def test_dp_noise_then_encrypted_averaging(make_engine) -> None:  # noqa: F811
    seen: list[Delivery] = []
    engine = make_engine(
        "pp-fedgan", **ONE_ROUND, **{"dp.noise_multiplier": 1.2, "dp.max_grad_norm": 0.5}, observer=seen.append
    )
    residuals = record_noise(engine)
    assert not engine.server.public.is_private()
    engine.run()
    assert len(residuals) == 4 and all(float(r.std()) == pytest.approx(0.6, rel=0.05) for r in residuals)
    assert all(
        name.startswith("ct.") and array.dtype == torch.uint8
        for delivery in seen
        for name, array in delivery.message.arrays.items()
    )
    uploads = {d.client: d.message for d in seen if d.direction == "up"}
    secret = engine.algorithm.keys.secret
    sizes = {cid: float(m.config["num_examples"]) for cid, m in uploads.items()}
    fedavg = sum(sizes[c] / sum(sizes.values()) * decrypt(m.arrays, secret) for c, m in uploads.items())
    aggregated = decrypt(engine.server.global_model, secret, engine.server.divisor)
    assert float((aggregated - fedavg).abs().max()) < CKKS_TOLERANCE


def test_privacy_json_has_the_dp_sgd_accounting_and_names_the_encryption(tmp_path: Path) -> None:
    run("pp-fedgan", preset="smoke", out=tmp_path, quiet=True, **{**FAST_EVAL, **ONE_ROUND})
    ledger = read_ledger(tmp_path)
    fresh = RDPAccountant()
    fresh.history = [(0.5, ledger.sample_rate, 2)]
    assert ledger.mechanism == "dp-sgd" and ledger.steps == 2
    assert ledger.other_epsilons[dp_sgd.OPACUS] == pytest.approx(fresh.get_epsilon(1e-5), rel=1e-12)
    check_epsilon(ledger.epsilon, 0.5, ledger.sample_rate, 2, 1e-5)
    assert "CKKS" in ledger.secure_aggregation
