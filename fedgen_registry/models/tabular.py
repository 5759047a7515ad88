"""CTGAN's networks and training step (Xu et al. 2019), for algorithms that train it on encoded tables.

The networks are ctgan's own ``Generator`` (residual blocks with batch norm) and ``Discriminator``
(PacGAN: ``pac`` rows judged together, with its WGAN gradient penalty). Around them, the pieces of
ctgan's ``CTGAN.fit`` that its package keeps private: the per-span output activations (tanh for a
normalised value, Gumbel-softmax for a mode or category), the conditional vector with
training-by-sampling (ctgan's ``DataSampler``), and the cross-entropy that makes the generator honour
the condition. One step here is one step of ``CTGAN.fit``: a critic update with gradient penalty,
then a generator update.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from ctgan.data_sampler import DataSampler
from ctgan.synthesizers.ctgan import Discriminator, Generator
from pydantic import BaseModel, ConfigDict, Field
from torch.nn import functional

GUMBEL_TAU = 0.2  # CTGAN's temperature for the softmax spans


class TabularModelConfig(BaseModel):
    """Small CTGAN networks (CTGAN's defaults are 128-dim noise and two 256-wide layers)."""

    model_config = ConfigDict(extra="forbid")

    latent_dim: int = Field(32, ge=1, description="Noise dimensions (CTGAN's embedding_dim).")
    generator_dims: list[int] = Field([64, 64], min_length=1, description="Widths of the generator's residual blocks.")
    discriminator_dims: list[int] = Field([64, 64], min_length=1, description="Widths of the critic's layers.")
    pac: int = Field(10, ge=1, description="Rows the critic judges together (PacGAN); the batch size must divide.")


class TabularOptimConfig(BaseModel):
    """CTGAN's Adam recipe (betas 0.5/0.9, weight decay 1e-6) and gradient-penalty weight."""

    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(50, ge=2)
    lr_g: float = Field(2e-4, gt=0)
    lr_d: float = Field(2e-4, gt=0)
    weight_decay: float = Field(1e-6, ge=0)
    penalty: float = Field(10.0, ge=0, description="Gradient-penalty weight (lambda).")
    log_frequency: bool = Field(True, description="Sample training conditions by log category frequency (CTGAN).")


@dataclass(frozen=True)
class EncodedRows:
    """One party's rows in the encoded space, with ctgan's sampler of conditions and matching real rows."""

    rows: np.ndarray
    sampler: DataSampler
    output_info: list

    def __len__(self) -> int:
        return len(self.rows)


def encoded_rows(rows: np.ndarray, output_info: list, log_frequency: bool) -> EncodedRows:
    return EncodedRows(rows, DataSampler(rows, output_info, log_frequency), output_info)


def build_generator(config: TabularModelConfig, data_dim: int, cond_dim: int) -> Generator:
    return Generator(config.latent_dim + cond_dim, tuple(config.generator_dims), data_dim)


def build_discriminator(config: TabularModelConfig, data_dim: int, cond_dim: int) -> Discriminator:
    return Discriminator(data_dim + cond_dim, tuple(config.discriminator_dims), pac=config.pac)


def activate(raw: torch.Tensor, output_info: list) -> torch.Tensor:
    """Generator output to the encoded space: tanh on normalised values, Gumbel-softmax on one-hot spans."""
    parts, start = [], 0
    for column in output_info:
        for span in column:
            end = start + span.dim
            if span.activation_fn == "tanh":
                parts.append(torch.tanh(raw[:, start:end]))
            else:
                parts.append(functional.gumbel_softmax(raw[:, start:end], tau=GUMBEL_TAU))
            start = end
    return torch.cat(parts, dim=1)


def condition_loss(raw: torch.Tensor, cond: torch.Tensor, mask: torch.Tensor, output_info: list) -> torch.Tensor:
    """Cross-entropy between the generated category and the conditioned one, on the conditioned column only."""
    losses, start, cond_start = [], 0, 0
    for column in output_info:
        discrete = len(column) == 1 and column[0].activation_fn == "softmax"
        for span in column:
            if discrete:
                target = cond[:, cond_start : cond_start + span.dim].argmax(dim=1)
                losses.append(functional.cross_entropy(raw[:, start : start + span.dim], target, reduction="none"))
                cond_start += span.dim
            start += span.dim
    return (torch.stack(losses, dim=1) * mask).sum() / raw.shape[0]


def _noise(batch: int, latent_dim: int, cond: torch.Tensor | None) -> torch.Tensor:
    z = torch.randn(batch, latent_dim)
    return z if cond is None else torch.cat([z, cond], dim=1)


def _with(rows: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
    return rows if cond is None else torch.cat([rows, cond], dim=1)


def train_steps(
    generator: Generator,
    discriminator: Discriminator,
    data: EncodedRows,
    steps: int,
    model: TabularModelConfig,
    optim: TabularOptimConfig,
) -> dict[str, float]:
    """``steps`` CTGAN updates (critic, then generator) with fresh Adam optimizers; returns the mean losses."""
    opt_g = torch.optim.Adam(generator.parameters(), optim.lr_g, betas=(0.5, 0.9), weight_decay=optim.weight_decay)
    opt_d = torch.optim.Adam(discriminator.parameters(), optim.lr_d, betas=(0.5, 0.9), weight_decay=optim.weight_decay)
    batch = optim.batch_size
    d_total = g_total = 0.0
    for _ in range(steps):
        condition = data.sampler.sample_condvec(batch)
        if condition is None:
            cond = None
            real = data.sampler.sample_data(data.rows, batch, None, None)
            real_cond = None
        else:
            cond_np, _, column, option = condition
            cond = torch.from_numpy(cond_np)
            order = np.random.permutation(batch)  # real rows match a shuffled copy of the fake rows' conditions
            real = data.sampler.sample_data(data.rows, batch, column[order], option[order])
            real_cond = cond[order]
        fake = activate(generator(_noise(batch, model.latent_dim, cond)), data.output_info)
        real_in, fake_in = _with(torch.from_numpy(np.asarray(real, dtype=np.float32)), real_cond), _with(fake, cond)
        fake_in = fake_in.detach().requires_grad_(True)  # ctgan's penalty differentiates through its inputs
        penalty = discriminator.calc_gradient_penalty(real_in, fake_in, "cpu", model.pac, optim.penalty)
        d_loss = discriminator(fake_in).mean() - discriminator(real_in).mean()
        opt_d.zero_grad(set_to_none=True)
        (d_loss + penalty).backward()
        opt_d.step()
        d_total += float(d_loss.item())

        condition = data.sampler.sample_condvec(batch)
        cond = None if condition is None else torch.from_numpy(condition[0])
        raw = generator(_noise(batch, model.latent_dim, cond))
        g_loss = -discriminator(_with(activate(raw, data.output_info), cond)).mean()
        if condition is not None:
            g_loss = g_loss + condition_loss(raw, cond, torch.from_numpy(condition[1]), data.output_info)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        g_total += float(g_loss.item())
    return {"d_loss": d_total / steps, "g_loss": g_total / steps}


@torch.no_grad()
def sample_encoded(
    generator: Generator, count: int, latent_dim: int, conditions: DataSampler, output_info: list
) -> np.ndarray:
    """``count`` rows in the encoded space, conditioned on categories drawn by their frequencies (CTGAN's sample)."""
    was_training = generator.training
    generator.eval()  # batch norm with the averaged running statistics
    cond_np = conditions.sample_original_condvec(count)
    cond = None if cond_np is None else torch.from_numpy(cond_np)
    rows = activate(generator(_noise(count, latent_dim, cond)), output_info).numpy()
    generator.train(was_training)
    return rows
