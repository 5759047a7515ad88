"""Causal-LM training steps and held-out perplexity on a token stream.

A party's text is one stream of token ids (its sentences joined); training draws random windows of
``block_size + 1`` tokens, and the model predicts each next token. Perplexity is exp of the mean
next-token cross-entropy over consecutive non-overlapping windows of the held-out stream.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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


def train_steps(model: nn.Module, stream: TokenStream, steps: int, block_size: int, optim: LMOptimConfig) -> float:
    """``steps`` AdamW updates of the parameters that require gradients; returns the mean training loss."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=optim.lr, weight_decay=optim.weight_decay)
    model.train()
    total = 0.0
    for _ in range(steps):
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
