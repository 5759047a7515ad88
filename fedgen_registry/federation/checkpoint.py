"""Checkpoints written atomically (:mod:`~fedgen_registry.federation.atomic`) that load with ``weights_only=True``.

Loading with ``weights_only=True`` refuses pickled objects, so states hold only tensors and primitive containers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from fedgen_registry.federation.atomic import write_atomic
from fedgen_registry.federation.errors import one_line

FORMAT = 1


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    write_atomic(path, lambda stream: torch.save({"format": FORMAT, **payload}, stream))


class CheckpointError(ValueError):
    """A checkpoint that cannot be read (truncated, not torch's format, pickled objects) or is not ours."""


def load_checkpoint(path: Path, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The payload of ``path``; a file that is unreadable, of another format or without ``required`` keys
    raises :class:`CheckpointError` with one line naming it (torch's own message is many lines, or a
    traceback deep in the unpickler)."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # truncated zip, foreign bytes, refused pickle: all mean "not a checkpoint we wrote"
        raise CheckpointError(f"{path} is not a readable checkpoint ({one_line(exc)})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{path}: checkpoint format {found!r}, expected {FORMAT}")
    missing = [key for key in required if key not in payload]
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {', '.join(missing)}")
    return payload


def clone_state(state: Any) -> Any:
    """A deep copy of a state (tensors cloned), so later training cannot change a snapshot in place."""
    if isinstance(state, torch.Tensor):
        return state.detach().clone()
    if isinstance(state, dict):
        return {key: clone_state(value) for key, value in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(clone_state(value) for value in state)
    return state
