"""Record-level DP-SGD through Opacus: noise really perturbs the update, clipping bounds each example, and
the ledger's epsilon is the Opacus accountant's."""

from __future__ import annotations

import pytest
import torch
from opacus.accountants import RDPAccountant
from torch.nn import functional

from fedgen_registry.data.local import LocalData
from fedgen_registry.mechanisms.privacy import dp_sgd
from fedgen_registry.mechanisms.privacy.dp_sgd import PrivateTraining, RecordDPConfig, make_private
from fedgen_registry.mechanisms.privacy.updates import flatten
from fedgen_registry.models.gan import MLPDiscriminator
from fedgen_registry.objectives.gan import discriminator_step
from runtime.accounting_reference import check_epsilon

ROWS, BATCH = 100, 10
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # Opacus: secure RNG off; hooks on detached inputs


def private(noise: float, clip: float) -> PrivateTraining:
    """The same discriminator, optimizer (SGD, rate 1) and rows every time, made private."""
    torch.manual_seed(0)
    model = MLPDiscriminator(64, 16)
    data = LocalData(torch.randn(ROWS, 64), torch.zeros(ROWS, dtype=torch.int64), 10)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    return make_private(model, optimizer, data, BATCH, RecordDPConfig(noise_multiplier=noise, max_grad_norm=clip))


def update(training: PrivateTraining, batch: torch.Tensor, seed: int) -> torch.Tensor:
    """The parameter change of one private step on a fixed batch, with the noise seeded by ``seed``."""
    before = flatten(dict(training.module.named_parameters()))
    loss = functional.binary_cross_entropy_with_logits(
        training.module(batch), torch.ones(len(batch))
    )  # mean over the batch, as the GAN steps use
    training.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.manual_seed(seed)
    training.optimizer.step()
    return flatten(dict(training.module.named_parameters())) - before


def test_same_batch_two_seeds_give_different_updates_and_no_noise_gives_the_same() -> None:
    batch = torch.randn(BATCH, 64, generator=torch.Generator().manual_seed(1))
    assert not torch.equal(update(private(1.0, 1.0), batch, 1), update(private(1.0, 1.0), batch, 2))
    assert torch.equal(update(private(0.0, 1.0), batch, 1), update(private(0.0, 1.0), batch, 2))


@pytest.mark.parametrize("noise", [0.5, 2.0])
def test_noise_std_is_multiplier_times_clip_over_the_expected_batch(noise: float) -> None:
    batch = torch.randn(BATCH, 64, generator=torch.Generator().manual_seed(1))
    clip = 0.3
    difference = update(private(noise, clip), batch, 1) - update(private(noise, clip), batch, 2)
    measured = float(difference.std()) / 2**0.5  # the clipped gradients cancel; two independent noises remain
    assert measured == pytest.approx(noise * clip / BATCH, rel=0.1)


def test_clipping_bounds_each_examples_contribution() -> None:
    clip = 0.05
    example = 50 * torch.randn(1, 64, generator=torch.Generator().manual_seed(3))
    training = private(0.0, clip)
    reference = MLPDiscriminator(64, 16)
    reference.load_state_dict(training.module._module.state_dict())
    functional.binary_cross_entropy_with_logits(reference(example), torch.ones(1)).backward()
    raw = float(torch.linalg.vector_norm(flatten({n: p.grad for n, p in reference.named_parameters()})))
    assert raw > 10 * clip  # the example alone would move the model far more than the bound allows
    step = update(training, example, 1)
    # one example, clipped to exactly C, summed, divided by the expected batch size (SGD rate 1)
    assert float(torch.linalg.vector_norm(step)) == pytest.approx(clip / BATCH, rel=1e-4)
    many = update(private(0.0, clip), 50 * torch.randn(BATCH, 64, generator=torch.Generator().manual_seed(4)), 1)
    assert float(torch.linalg.vector_norm(many)) <= clip * (1 + 1e-5)


def test_ledger_has_the_tight_epsilon_with_the_opacus_accountants_beside_it() -> None:
    training = private(1.1, 1.0)
    steps = 7
    for _ in range(steps):
        discriminator_step(training.module, training.optimizer, training.data, torch.randn(BATCH, 64), None, False)
    ledger = dp_sgd.ledger({0: training}, training.config)
    fresh = RDPAccountant()
    fresh.history = [(1.1, BATCH / ROWS, steps)]
    assert ledger.steps == steps and ledger.sample_rate == pytest.approx(BATCH / ROWS)
    assert ledger.other_epsilons[dp_sgd.OPACUS] == pytest.approx(fresh.get_epsilon(training.config.delta), rel=1e-12)
    check_epsilon(ledger.epsilon, 1.1, BATCH / ROWS, steps, training.config.delta)
    assert ledger.epsilon < ledger.other_epsilons[dp_sgd.OPACUS]  # PLD is tighter than Opacus's RDP
    assert ledger.per_client_epsilon == {"0": ledger.epsilon} and ledger.mechanism == "dp-sgd"
    assert ledger.per_client_releases == {"0": (pytest.approx(BATCH / ROWS), steps)}


def test_private_data_refuses_a_batch_size_it_was_not_accounted_for() -> None:
    training = private(1.0, 1.0)
    sizes = {len(training.data.batch(BATCH)[0]) for _ in range(20)}
    assert len(sizes) > 1  # Poisson batches vary in size
    with pytest.raises(ValueError, match="batches of 10"):
        training.data.batch(BATCH + 1)
