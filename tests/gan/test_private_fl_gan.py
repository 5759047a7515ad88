"""Private FL-GAN: the weight clip (the critic's Lipschitz limit) bounds every record's gradient, so the critic's
Gaussian noise of std sigma*c_g needs no per-example clipping; the serial schedule hands the model from client
to client; privacy.json recomputes per client from its critic steps (PLD, with RDP beside)."""

from __future__ import annotations

import json
from pathlib import Path

import dp_accounting
import pytest
import torch
from dp_accounting.rdp import rdp_privacy_accountant
from runtime.accounting_reference import check_epsilon
from runtime.conftest import make_engine  # noqa: F401  (the fixture)
from runtime.settings import FAST_EVAL

from fedgen_registry.federation.local import Delivery
from fedgen_registry.mechanisms.privacy import accounting
from fedgen_registry.mechanisms.privacy.ledger import read_ledger
from fedgen_registry.mechanisms.privacy.updates import flatten
from fedgen_registry.runs.runner import run

ONE_ROUND = {"rounds": 1, "clients": 3, "local_steps": 2}


def test_weight_clip_bounds_every_records_gradient(make_engine) -> None:  # noqa: F811
    engine = make_engine("private-fl-gan", **ONE_ROUND)
    engine.run()
    client = engine.clients[0]
    critic = client.critic
    assert all(float(p.abs().max()) <= 0.01 for p in critic.parameters())
    generator = torch.Generator().manual_seed(0)
    corners = torch.randint(0, 2, (200, 64), generator=generator).double() * 2 - 1  # the largest inputs allowed
    rows = torch.cat([client.data.x[:200].double(), corners]).float()
    norms = []
    for row in rows:
        critic.zero_grad(set_to_none=True)
        (-critic(row[None])).sum().backward()
        norms.append(float(torch.linalg.vector_norm(flatten({n: p.grad for n, p in critic.named_parameters()}))))
    assert 0 < max(norms) <= client.bound  # the sensitivity holds without clipping anything


class Recorder:
    """Stands in for the critic's optimizer and keeps the (noised) gradient of every step."""

    def __init__(self, critic: torch.nn.Module) -> None:
        self.critic, self.gradients = critic, []

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.critic.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        self.gradients.append(flatten({n: p.grad for n, p in self.critic.named_parameters()}))


def test_critic_gradients_carry_noise_of_std_sigma_c_g(make_engine) -> None:  # noqa: F811
    gradients = {}
    for noise in (0.0, 0.7):
        engine = make_engine("private-fl-gan", **ONE_ROUND, **{"dp.noise_multiplier": noise})
        client = engine.clients[1]
        recorder = Recorder(client.critic)
        torch.manual_seed(3)  # the same Poisson batch and generated batch both times
        client.critic_step(recorder)
        gradients[noise] = recorder.gradients[0]
    expected_batch = client.sample_rate * len(client.data.y)
    noise = gradients[0.7] - gradients[0.0]
    assert float(noise.std()) == pytest.approx(0.7 * client.bound / expected_batch, rel=0.05)
    assert client.steps == 1


def test_serial_schedule_hands_the_model_from_client_to_client(make_engine) -> None:  # noqa: F811
    seen: list[Delivery] = []
    engine = make_engine("private-fl-gan", **ONE_ROUND, schedule="serial", observer=seen.append)
    engine.run()
    assert [(d.stage, d.direction) for d in seen] == [
        (f"visit.{i}", direction) for i in range(3) for direction in ("down", "up")
    ]
    for before, after in zip(seen[1::2], seen[2::2], strict=False):  # what one returns is what the next gets
        assert all(torch.equal(before.message.arrays[k], after.message.arrays[k]) for k in before.message.arrays)
    final = engine.server.discriminator.state_dict()
    assert all(torch.equal(seen[-1].message.arrays["d." + k], v) for k, v in final.items())


def test_privacy_json_matches_a_fresh_accounting(tmp_path: Path) -> None:
    settings = {**FAST_EVAL, **ONE_ROUND, "rounds": 2, "dp.noise_multiplier": 0.9}
    summary = run("private-fl-gan", preset="smoke", out=tmp_path, quiet=True, **settings)
    ledger = read_ledger(tmp_path)
    steps = 2 * 2 * 2  # rounds x generator steps x critic steps
    assert ledger.mechanism == "dp-sgd" and ledger.steps == steps
    sizes = json.loads((tmp_path / "partition.json").read_text())["sizes"]
    rdp = []
    for cid, epsilon in ledger.per_client_epsilon.items():
        accountant = rdp_privacy_accountant.RdpAccountant()
        event = dp_accounting.PoissonSampledDpEvent(64 / sizes[int(cid)], dp_accounting.GaussianDpEvent(0.9))
        accountant.compose(dp_accounting.SelfComposedDpEvent(event, steps))
        rdp.append(accountant.get_epsilon(1e-5))
        check_epsilon(epsilon, 0.9, 64 / sizes[int(cid)], steps, 1e-5)
        assert ledger.per_client_releases[cid] == (pytest.approx(64 / sizes[int(cid)]), steps)
    assert ledger.epsilon == max(ledger.per_client_epsilon.values()) == summary["metrics"]["epsilon"]
    assert ledger.other_epsilons[accounting.RDP] == pytest.approx(max(rdp), rel=1e-12)
    assert ledger.other_epsilons[accounting.RDP] > ledger.epsilon
