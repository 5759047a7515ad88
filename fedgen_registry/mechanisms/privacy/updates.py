"""Model updates as one flat vector, the unit that clipping, noise and masking work on.

Client-level DP bounds the L2 norm of a client's *whole* update, and secure aggregation masks one
vector, so both need the named arrays of a message laid end to end in an order both sides agree on
(sorted names) and put back afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch


def flatten(arrays: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The arrays in sorted-name order as one float64 vector."""
    return torch.cat([arrays[name].detach().reshape(-1).to(torch.float64) for name in sorted(arrays)])


def unflatten(vector: torch.Tensor, like: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Split ``vector`` back into arrays with the names, shapes and dtypes of ``like``."""
    sizes = [like[name].numel() for name in sorted(like)]
    if vector.numel() != sum(sizes):
        raise ValueError(f"a vector of {vector.numel()} values cannot fill arrays of {sum(sizes)} values")
    pieces = torch.split(vector, sizes)
    return {
        name: piece.reshape(like[name].shape).to(like[name].dtype).clone()
        for name, piece in zip(sorted(like), pieces, strict=True)
    }


def difference(new: Mapping[str, torch.Tensor], old: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``new - old`` per name (a client's update relative to the model it started from)."""
    return {name: new[name].detach() - old[name].detach() for name in old}
