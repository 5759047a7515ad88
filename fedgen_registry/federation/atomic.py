"""Atomic file writes: a run's files are whole or absent, never half-written.

A file is written to a temporary file in the same folder and moved over the old one with ``os.replace``, so
a run killed mid-write, or a disk that fills during the write, leaves the previous version intact (no fsync:
a killed process loses nothing the kernel already has; power loss is out of scope). Torch-free, so the
ledger and the run files can use it without importing torch.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomic(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write`` on a temporary file beside ``path``, then move it over ``path``; on any failure, remove it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """``path.write_text(text)`` that never leaves a half-written file: the old one stays until the new is whole."""
    write_atomic(path, lambda stream: stream.write(text.encode("utf-8")))
