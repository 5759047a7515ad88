"""Every privacy ledger the repository ships is recomputed from its own numbers by another library's accountant.

The site's cached runs (``site/runs/<paper>/privacy.json``) are what a reader of a paper page sees; each
Gaussian ledger must carry everything needed to recompute its guarantee (z, q, steps, delta, and each client's
rate and steps where every client has its own accountant), name one headline accountant, and put the RDP bound
beside it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fedgen_registry.mechanisms.privacy import accounting
from fedgen_registry.mechanisms.privacy.ledger import PrivacyLedger
from runtime.accounting_reference import check_epsilon

REPO = Path(__file__).resolve().parents[2]
LEDGERS = {path: json.loads(path.read_text(encoding="utf-8")) for path in sorted(REPO.glob("site/runs/*/privacy.json"))}
GAUSSIAN = [path for path, ledger in LEDGERS.items() if ledger["mechanism"] in ("dp-fedavg", "dp-sgd")]
ACCOUNTED = [path for path in GAUSSIAN if LEDGERS[path]["epsilon"] is not None]
UNACCOUNTED = [path for path in GAUSSIAN if LEDGERS[path]["epsilon"] is None]


def test_the_repository_ships_gaussian_ledgers() -> None:
    assert len(ACCOUNTED) >= 5  # dp-fedavg-gan, gs-wgan, private-fl-gan, feddpgan, pp-fedgan at least


@pytest.mark.parametrize("path", UNACCOUNTED, ids=lambda path: path.parent.name)
def test_a_ledger_without_epsilon_says_why(path: Path) -> None:
    ledger = PrivacyLedger.model_validate_json(path.read_text(encoding="utf-8"))
    assert ledger.accountant is None and any("no epsilon is claimed" in a for a in ledger.assumptions)


@pytest.mark.parametrize("path", ACCOUNTED, ids=lambda path: path.parent.name)
def test_ledger_recomputes_within_one_percent(path: Path) -> None:
    ledger = PrivacyLedger.model_validate_json(path.read_text(encoding="utf-8"))
    z, delta = ledger.noise_multiplier, ledger.delta
    assert z is not None and delta is not None
    assert ledger.accountant.startswith(accounting.HEADLINE)
    releases = ledger.per_client_releases or {"run": (ledger.sample_rate, ledger.steps)}
    if ledger.per_client_epsilon is not None:
        assert set(ledger.per_client_epsilon) == set(releases)
        assert ledger.epsilon == max(ledger.per_client_epsilon.values())
    epsilons = ledger.per_client_epsilon or {"run": ledger.epsilon}
    for cid, (rate, steps) in releases.items():
        check_epsilon(epsilons[cid], z, rate, steps, delta)
    rdp = max(accounting.epsilon(z, rate, steps, delta, "rdp") for rate, steps in releases.values())
    assert ledger.other_epsilons[accounting.RDP] == pytest.approx(rdp, rel=1e-9)
    assert ledger.epsilon <= rdp
