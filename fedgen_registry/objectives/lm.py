"""Causal-LM training steps and held-out perplexity on a token stream.

A party's text is one stream of token ids (its sentences joined); training draws random windows of
``block_size + 1`` tokens, and the model predicts each next token. Perplexity is exp of the mean
next-token cross-entropy over consecutive non-overlapping windows of the held-out stream.

The learning rate is constant by default (every paper preset) or decays along one cosine over the whole
run (``schedule="cosine"``): a local run is told where it sits in the run (its first step and the run's
total), so every client of a round and a centralized twin with the same rounds follow the same curve, and
the last rounds take small steps instead of ending on whatever noise a full-size step left.

:func:`ngram_perplexity` is the yardstick beside it: a count-based character n-gram of the pooled training
text, scored on exactly the tokens :func:`perplexity` scores, so a tuned model's figure reads against
what counting alone achieves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn
from torch.nn import functional


class LMOptimConfig(BaseModel):
    """AdamW on the trainable (adapter) parameters, fresh at every local run."""

    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(16, ge=1)
    lr: float = Field(3e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    schedule: Literal["constant", "cosine"] = Field(
        "constant", description="Learning rate over the run: constant, or one cosine from lr down to zero."
    )

    def lr_at(self, step: int, total: int) -> float:
        """The learning rate of the run's ``step``-th update (from 0) out of ``total``."""
        if self.schedule == "constant":
            return self.lr
        if not 0 <= step < total:
            raise ValueError(f"step {step} is outside a run of {total} steps")
        return self.lr * 0.5 * (1.0 + math.cos(math.pi * step / total))


@dataclass(frozen=True)
class TokenStream:
    ids: torch.Tensor

    def __len__(self) -> int:
        return len(self.ids)

    def windows(self, count: int, length: int) -> torch.Tensor:
        """``count`` random windows of ``length`` consecutive tokens (with replacement)."""
        if len(self.ids) < length:
            raise ValueError(f"a stream of {len(self.ids)} tokens holds no window of {length}")
        starts = torch.randint(len(self.ids) - length + 1, (count,))
        return torch.stack([self.ids[s : s + length] for s in starts.tolist()])


def next_token_loss(model: nn.Module, windows: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of each next token given the tokens before it."""
    logits = model(input_ids=windows[:, :-1]).logits
    return functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), windows[:, 1:].reshape(-1))


def train_steps(
    model: nn.Module,
    stream: TokenStream,
    steps: int,
    block_size: int,
    optim: LMOptimConfig,
    first_step: int = 0,
    run_steps: int | None = None,
) -> float:
    """``steps`` AdamW updates of the parameters that require gradients; returns the mean training loss.

    The updates are steps ``first_step ..`` of a run of ``run_steps`` (default: this call alone), which
    places them on ``optim``'s learning-rate schedule.
    """
    run_steps = first_step + steps if run_steps is None else run_steps
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=optim.lr, weight_decay=optim.weight_decay)
    model.train()
    total = 0.0
    for step in range(first_step, first_step + steps):
        for group in optimizer.param_groups:
            group["lr"] = optim.lr_at(step, run_steps)
        loss = next_token_loss(model, stream.windows(optim.batch_size, block_size + 1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += float(loss.item())
    return total / steps


@torch.no_grad()
def perplexity(model: nn.Module, stream: TokenStream, block_size: int) -> float:
    """exp(mean next-token cross-entropy) over consecutive windows of ``block_size + 1`` tokens."""
    length = block_size + 1
    count = len(stream) // length
    if count == 0:
        raise ValueError(f"a held-out stream of {len(stream)} tokens holds no window of {length}")
    windows = stream.ids[: count * length].reshape(count, length)
    model.eval()
    loss = next_token_loss(model, windows)
    model.train()
    return math.exp(float(loss))


def ngram_perplexity(train: TokenStream, held_out: TokenStream, vocab_size: int, order: int, block_size: int) -> float:
    """Perplexity of an add-one-smoothed ``order``-gram counted on ``train``, over :func:`perplexity`'s tokens.

    The held-out stream is cut into the same windows and each window's first token is not scored; a
    token sees at most ``order - 1`` tokens before it, and no more than its window holds (as the model does).
    """
    if order < 1 or vocab_size**order >= 2**62:
        raise ValueError(f"order {order} is not an n-gram order this vocabulary of {vocab_size} can count")
    length = block_size + 1
    count = len(held_out) // length
    if count == 0:
        raise ValueError(f"a held-out stream of {len(held_out)} tokens holds no window of {length}")
    windows = held_out.ids[: count * length].reshape(count, length).numpy()
    counts = {size: GramCounts(train.ids.numpy(), size, vocab_size) for size in range(1, order + 1)}
    nll = 0.0
    for position in range(1, length):
        context = min(order - 1, position)
        grams = windows[:, position - context : position + 1]
        seen = counts[context](grams[:, :-1]) if context else len(train)
        nll -= float(np.log((counts[context + 1](grams) + 1) / (seen + vocab_size)).sum())
    return math.exp(nll / (count * (length - 1)))


class GramCounts:
    """How often each run of ``size`` consecutive tokens occurs in ``ids`` (runs coded as base-vocab integers)."""

    def __init__(self, ids: np.ndarray, size: int, vocab_size: int) -> None:
        self.base = vocab_size ** np.arange(size - 1, -1, -1, dtype=np.int64)
        runs = np.lib.stride_tricks.sliding_window_view(ids, size)
        self.codes, self.counts = np.unique(runs @ self.base, return_counts=True)

    def __call__(self, grams: np.ndarray) -> np.ndarray:
        """The count of each row of ``grams`` (``size`` token ids each); 0 for runs never seen."""
        codes = grams @ self.base
        at = np.minimum(np.searchsorted(self.codes, codes), len(self.codes) - 1)
        return np.where(self.codes[at] == codes, self.counts[at], 0)
