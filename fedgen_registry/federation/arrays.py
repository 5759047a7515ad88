"""Model parameters in and out of messages, and their weighted average (the FedAvg rule).

Arrays put into a message are detached clones: in-process delivery must behave like a network, where
the receiver can never write into the sender's tensors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn


def module_arrays(module: nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    """``{prefix + name: tensor}`` for every entry of the module's state dict, cloned."""
    return {prefix + name: value.detach().clone() for name, value in module.state_dict().items()}


def load_module_arrays(module: nn.Module, arrays: Mapping[str, torch.Tensor], prefix: str) -> None:
    """Load the arrays named ``prefix + name`` into ``module`` (all of its entries must be present)."""
    module.load_state_dict({name[len(prefix) :]: value for name, value in arrays.items() if name.startswith(prefix)})


def weighted_mean(arrays: Sequence[Mapping[str, torch.Tensor]], weights: Sequence[float]) -> dict[str, torch.Tensor]:
    """``sum_i (w_i / sum w) * arrays_i`` per name, accumulated in float64 in the given order, cast back."""
    if not arrays or len(arrays) != len(weights):
        raise ValueError(f"weighted_mean needs one weight per set of arrays (got {len(arrays)} and {len(weights)})")
    total = float(sum(weights))
    result: dict[str, torch.Tensor] = {}
    for name, first in arrays[0].items():
        accumulator = torch.zeros(first.shape, dtype=torch.float64)
        for item, weight in zip(arrays, weights, strict=True):
            accumulator += (weight / total) * item[name].to(torch.float64)
        result[name] = accumulator.to(first.dtype)
    return result
