"""CTGAN's networks and output activations (Xu et al. 2019), for algorithms that train it on encoded tables.

The networks are ctgan's own ``Generator`` (residual blocks with batch norm) and ``Discriminator``
(PacGAN: ``pac`` rows judged together). Around them, what ctgan's package keeps private: the per-span
output activations (tanh for a normalised value, Gumbel-softmax for a mode or category), here
precomputed as index tensors so that activating a row costs a few tensor operations whatever the
number of columns, and conditional sampling of encoded rows. The training step, which uses the shared
gradient penalty of :mod:`fedgen_registry.objectives.wgan`, lives above the networks in
:mod:`fedgen_registry.tasks.table_step`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from ctgan.synthesizers.ctgan import Discriminator, Generator
from pydantic import BaseModel, ConfigDict, Field

from fedgen_registry.data.tabular_sampling import ConditionSampler

GUMBEL_TAU = 0.2  # CTGAN's temperature for the softmax spans


class TabularModelConfig(BaseModel):
    """Small CTGAN networks (CTGAN's defaults are 128-dim noise and two 256-wide layers)."""

    model_config = ConfigDict(extra="forbid")

    latent_dim: int = Field(32, ge=1, description="Noise dimensions (CTGAN's embedding_dim).")
    generator_dims: list[int] = Field([64, 64], min_length=1, description="Widths of the generator's residual blocks.")
    discriminator_dims: list[int] = Field([64, 64], min_length=1, description="Widths of the critic's layers.")
    pac: int = Field(10, ge=1, description="Rows the critic judges together (PacGAN); the batch size must divide.")


def build_generator(config: TabularModelConfig, data_dim: int, cond_dim: int) -> Generator:
    return Generator(config.latent_dim + cond_dim, tuple(config.generator_dims), data_dim)


def build_discriminator(config: TabularModelConfig, data_dim: int, cond_dim: int) -> Discriminator:
    return Discriminator(data_dim + cond_dim, tuple(config.discriminator_dims), pac=config.pac)


@dataclass(frozen=True)
class Activation:
    """Generator output to the encoded space: tanh on normalised values, Gumbel-softmax on one-hot spans.

    All spans are activated at once with dense operations (per-span sums as a product with the
    position-to-span indicator ``members``), because indexing span by span, or gathering into a padded
    layout, makes the backward pass slower than the networks themselves. ``choices`` (each span's
    positions, padded to the widest, ``valid`` marking the real ones) serves only the per-span maximum
    that keeps the exponentials finite; the softmax does not depend on it, so it takes no gradient.
    """

    in_span: torch.Tensor
    members: torch.Tensor
    span_of: torch.Tensor
    choices: torch.Tensor
    valid: torch.Tensor

    @classmethod
    def of(cls, output_info: list) -> Activation:
        spans, start = [], 0
        for column in output_info:
            for span in column:
                if span.activation_fn != "tanh":
                    spans.append(range(start, start + span.dim))
                start += span.dim
        members = np.zeros((start, len(spans)), dtype=np.float32)
        span_of = np.zeros(start, dtype=np.int64)
        widest = max((len(s) for s in spans), default=0)
        choices = np.zeros((len(spans), widest), dtype=np.int64)
        valid = np.zeros((len(spans), widest), dtype=bool)
        for j, span in enumerate(spans):
            members[span, j], span_of[span] = 1.0, j
            choices[j, : len(span)], valid[j, : len(span)] = span, True
        in_span = torch.from_numpy(members.sum(axis=1) > 0)
        return cls(in_span, *(torch.from_numpy(a) for a in (members, span_of, choices, valid)))

    def __call__(self, raw: torch.Tensor) -> torch.Tensor:
        uniform = torch.rand_like(raw).clamp_(min=torch.finfo(raw.dtype).tiny)  # torch's exponential_ is slow
        gumbel = -torch.log(-torch.log(uniform))
        logits = ((raw + gumbel) / GUMBEL_TAU).masked_fill(~self.in_span, 0.0)
        with torch.no_grad():
            peak = logits[:, self.choices].masked_fill(~self.valid, float("-inf")).amax(dim=-1)[:, self.span_of]
        weights = torch.exp(logits - peak.masked_fill(~self.in_span, 0.0))
        totals = (weights @ self.members) @ self.members.T + (~self.in_span).float()  # 1 off the spans: no 0/0
        return torch.where(self.in_span, weights / totals, torch.tanh(raw))


def noise(batch: int, latent_dim: int, cond: torch.Tensor | None) -> torch.Tensor:
    """The generator's input: standard normal noise, followed by the conditional vector if there is one."""
    z = torch.randn(batch, latent_dim)
    return z if cond is None else torch.cat([z, cond], dim=1)


@torch.no_grad()
def sample_encoded(
    generator: Generator, count: int, latent_dim: int, conditions: ConditionSampler, activation: Activation
) -> np.ndarray:
    """``count`` rows in the encoded space, conditioned on categories drawn by their frequencies (CTGAN's sample)."""
    was_training = generator.training
    generator.eval()  # batch norm with the running statistics (the averaged ones, under FedAvg)
    cond_np = conditions.generation(count)
    cond = None if cond_np is None else torch.from_numpy(cond_np)
    rows = activation(generator(noise(count, latent_dim, cond))).numpy()
    generator.train(was_training)
    return rows
