"""Derived seeds: every (round, attempt, role, stage) gets its own seed from the one root seed.

Re-seeding torch, numpy and ``random`` before each call, instead of carrying one RNG stream through the
run, makes a call's randomness independent of what ran before it. That is what makes a resumed run
equal an uninterrupted one without restoring RNG states, and a retried round differ from the failed one.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch


def derive_seed(root: int, *path: object) -> int:
    """A 63-bit seed that depends only on ``root`` and ``path`` (stable across processes, unlike ``hash``)."""
    text = "/".join(str(p) for p in (root, *path))
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little") >> 1


def seed_everything(seed: int) -> None:
    """Seed torch's CPU generator, numpy's global one and ``random``.

    ``torch.manual_seed`` would also queue seeds for CUDA/XPU/MTIA, formatting a stack trace each time
    (about 1 ms a call, called several times per client per round); the engines run on the CPU.
    """
    torch.default_generator.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


@contextmanager
def deterministic(threads: int | None = None) -> Iterator[None]:
    """Deterministic torch kernels (and optionally a fixed intra-op thread count) until the block ends.

    The thread count is part of determinism, since it changes how float sums are split, and of speed:
    small models gain nothing from intra-op threads, and on a loaded machine OpenMP's spinning threads
    made 200 MLP steps take 17 s instead of 0.4 s on one thread. The caller's settings are restored.
    """
    previous = torch.are_deterministic_algorithms_enabled(), torch.get_num_threads()
    torch.use_deterministic_algorithms(True)
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous[0])
        torch.set_num_threads(previous[1])
