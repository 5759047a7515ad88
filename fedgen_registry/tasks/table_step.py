"""CTGAN's training step (Xu et al. 2019) on one party's encoded rows: a WGAN-GP critic update, then a generator update.

The critic judges ``pac`` rows at a time (PacGAN) with the gradient penalty of WGAN-GP, taken from
:mod:`fedgen_registry.objectives.wgan` on packed rows, so that the interpolation weight and the
gradient norm are per pack, as CTGAN has them. The generator is conditioned on one category of one
discrete column (training-by-sampling, :mod:`fedgen_registry.data.tabular_sampling`) and pays a
cross-entropy when its row does not hold that category. The step sits at the task layer, above the
networks, because networks may not import objectives.
"""

from __future__ import annotations

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn
from torch.nn import functional

from fedgen_registry.data.tabular_sampling import Condition, EncodedRows, discrete_spans
from fedgen_registry.models.tabular import Activation, TabularModelConfig, noise
from fedgen_registry.objectives.wgan import gradient_penalty


class TabularOptimConfig(BaseModel):
    """CTGAN's Adam recipe (betas 0.5/0.9, weight decay 1e-6) and gradient-penalty weight."""

    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(50, ge=2)
    lr_g: float = Field(2e-4, gt=0)
    lr_d: float = Field(2e-4, gt=0)
    weight_decay: float = Field(1e-6, ge=0)
    penalty: float = Field(10.0, ge=0, description="Gradient-penalty weight (lambda).")
    log_frequency: bool = Field(True, description="Sample training conditions by log category frequency (CTGAN).")
    critic_steps: int = Field(
        1, ge=1, description="Critic updates per generator update (CTGAN's discriminator_steps: 1; WGAN-GP's: 5)."
    )


class PackedCritic(nn.Module):
    """A PacGAN critic as the shared penalty sees it: each input row is ``pac`` encoded rows side by side."""

    def __init__(self, critic: nn.Module, pac: int) -> None:
        super().__init__()
        self.critic, self.pac = critic, pac

    def forward(self, packed: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.critic(packed.reshape(len(packed) * self.pac, -1))


def packed_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, pac: int) -> torch.Tensor:
    """WGAN-GP's penalty of a PacGAN critic: one interpolation weight and one gradient norm per pack of rows."""
    return gradient_penalty(
        PackedCritic(critic, pac), real.reshape(len(real) // pac, -1), fake.reshape(len(fake) // pac, -1)
    )


def condition_loss(raw: torch.Tensor, condition: Condition, output_info: list) -> torch.Tensor:
    """Cross-entropy between the generated category and the conditioned one, on the conditioned column only."""
    vectors, losses, offset = torch.from_numpy(condition.vectors), [], 0
    for start, width in discrete_spans(output_info):
        target = vectors[:, offset : offset + width].argmax(dim=1)  # 0 where another column is conditioned: masked
        losses.append(functional.cross_entropy(raw[:, start : start + width], target, reduction="none"))
        offset += width
    return (torch.stack(losses, dim=1) * torch.from_numpy(condition.mask)).sum() / raw.shape[0]


def _with(rows: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
    return rows if cond is None else torch.cat([rows, cond], dim=1)


def _vectors(condition: Condition | None) -> torch.Tensor | None:
    return None if condition is None else torch.from_numpy(condition.vectors)


def critic_step(
    generator: nn.Module,
    discriminator: nn.Module,
    optimizer: torch.optim.Optimizer,
    data: EncodedRows,
    activation: Activation,
    model: TabularModelConfig,
    optim: TabularOptimConfig,
) -> float:
    """One WGAN-GP update of the PacGAN critic; returns E[D(fake)] - E[D(real)] (the loss without the penalty)."""
    batch = optim.batch_size
    condition = data.sampler.training(batch)
    cond = _vectors(condition)
    with torch.no_grad():
        fake = activation(generator(noise(batch, model.latent_dim, cond)))
    # real rows hold a shuffled copy of the fake rows' conditions, so no pack pairs rows by position (CTGAN)
    order = np.random.permutation(batch)
    shuffled = None if condition is None else condition.take(order)
    real = torch.from_numpy(data.rows[data.sampler.rows(shuffled, batch)])
    real_in, fake_in = _with(real, _vectors(shuffled)), _with(fake, cond)
    loss = discriminator(fake_in).mean() - discriminator(real_in).mean()
    penalty = packed_penalty(discriminator, real_in, fake_in, model.pac)
    optimizer.zero_grad(set_to_none=True)
    (loss + optim.penalty * penalty).backward()
    optimizer.step()
    return float(loss.item())


def train_steps(
    generator: nn.Module,
    discriminator: nn.Module,
    data: EncodedRows,
    steps: int,
    model: TabularModelConfig,
    optim: TabularOptimConfig,
) -> dict[str, float]:
    """``steps`` CTGAN updates (critic, then generator) with fresh Adam optimizers; returns the mean losses."""
    opt_g = torch.optim.Adam(generator.parameters(), optim.lr_g, betas=(0.5, 0.9), weight_decay=optim.weight_decay)
    opt_d = torch.optim.Adam(discriminator.parameters(), optim.lr_d, betas=(0.5, 0.9), weight_decay=optim.weight_decay)
    activation, batch = Activation.of(data.output_info), optim.batch_size
    d_total = g_total = 0.0
    for _ in range(steps):
        for _ in range(optim.critic_steps):
            d_total += critic_step(generator, discriminator, opt_d, data, activation, model, optim) / optim.critic_steps

        condition = data.sampler.training(batch)
        cond = _vectors(condition)
        raw = generator(noise(batch, model.latent_dim, cond))
        g_loss = -discriminator(_with(activation(raw), cond)).mean()
        if condition is not None:
            g_loss = g_loss + condition_loss(raw, condition, data.output_info)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        g_total += float(g_loss.item())
    return {"d_loss": d_total / steps, "g_loss": g_total / steps}
