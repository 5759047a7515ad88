"""The diffusion family: the denoising loss falls with training; DDPM and DDIM sample the right shape."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from pydantic import ValidationError

from fedgen_registry.data.datasets import digits_split
from fedgen_registry.federation.seeding import deterministic
from fedgen_registry.objectives.diffusion import (
    DiffusionConfig,
    DiffusionFamily,
    denoising_loss,
)

SHAPE = (1, 8, 8)
TINY = {"block_channels": (8, 16), "train_timesteps": 100, "sample_steps": 4}


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Small models on one thread, as the engine runs them: OpenMP's spinning threads crawl on a busy machine."""
    with deterministic(threads=1):
        yield


def fixed_loss(family: DiffusionFamily, model: torch.nn.Module, images: torch.Tensor) -> float:
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)  # the same timesteps and noise before and after training
        return float(denoising_loss(model, family.noise_schedule, images, None))


def test_training_lowers_the_denoising_loss_on_digits() -> None:
    train, _ = digits_split()
    torch.manual_seed(0)
    family = DiffusionFamily(DiffusionConfig(**TINY), SHAPE, train.num_classes)
    model = family.build()
    x, y = torch.as_tensor(train.x), torch.as_tensor(train.y)
    probe = x[:256].view(-1, *SHAPE)
    before = fixed_loss(family, model, probe)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(15):
        index = torch.randint(len(x), (64,))
        loss, _ = family.loss(model, x[index], y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = fixed_loss(family, model, probe)
    assert after < 0.75 * before


@pytest.mark.parametrize(("sampler", "conditional"), [("ddpm", False), ("ddim", True)])
def test_sampling_gives_images_of_the_right_shape_and_range(sampler: str, conditional: bool) -> None:
    torch.manual_seed(0)
    family = DiffusionFamily(DiffusionConfig(**TINY, sampler=sampler, conditional=conditional), SHAPE, 10)
    model = family.build().eval()
    labels = torch.arange(6) if conditional else None
    samples = family.sample(model, 6, labels)
    assert samples.shape == (6, 64) and samples.abs().max() <= 1.0
    if conditional:  # DDIM with eta 0 is deterministic given the start noise; the label changes the result
        torch.manual_seed(5)
        zeros = family.sample(model, 2, torch.tensor([0, 0]))
        torch.manual_seed(5)
        mixed = family.sample(model, 2, torch.tensor([0, 7]))
        assert torch.equal(zeros[0], mixed[0]) and not torch.allclose(zeros[1], mixed[1])


def test_inconsistent_settings_are_refused() -> None:
    with pytest.raises(ValidationError, match="exceeds train_timesteps"):
        DiffusionConfig(train_timesteps=10, sample_steps=20)
    with pytest.raises(ValidationError, match="must divide"):
        DiffusionConfig(block_channels=(12, 24), norm_groups=8)
