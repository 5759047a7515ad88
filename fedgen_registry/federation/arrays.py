"""Model parameters in and out of messages, and their weighted average (the FedAvg rule).

Arrays put into a message are detached clones: in-process delivery must behave like a network, where
the receiver can never write into the sender's tensors. :func:`size_weighted` is the same rule for the
scalars a reply reports (its losses), so every server reports a round's losses alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from fedgen_registry.federation.protocol import Message


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


def size_weighted(replies: Mapping[int, Message], order: Sequence[int], keys: Sequence[str]) -> dict[str, float]:
    """Data-size-weighted mean of the scalar ``keys`` that the replies report (their losses), summed in ``order``."""
    sizes = [float(replies[cid].config["num_examples"]) for cid in order]
    return {
        key: sum(float(replies[cid].config[key]) * n for cid, n in zip(order, sizes, strict=True)) / sum(sizes)
        for key in keys
    }
