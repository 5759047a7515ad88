"""One client's view of its rows (:class:`LocalData`) and the meter that counts what a run draws from them.

Every family reads a client's rows through :meth:`LocalData.batch`, so that is where a run's sample
budget is counted. The count belongs to the run, not to the process: :class:`SampleMeter` counts only
inside its :meth:`~SampleMeter.counting` block, so two runs (or a run and a test) never add to each
other's budget.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import torch


@dataclass
class SampleMeter:
    """Real rows drawn through :meth:`LocalData.batch` while :meth:`counting` is active.

    ``fedgen compare`` gives each run a fresh meter to give every implementation the same sample
    budget (real-row visits); rows an algorithm reads without ``batch`` are not counted.
    """

    rows: int = 0

    @contextmanager
    def counting(self) -> Iterator[SampleMeter]:
        """Count the batches drawn in this block (in this thread or task) on this meter; an outer one pauses."""
        token = _COUNTING.set(self)
        try:
            yield self
        finally:
            _COUNTING.reset(token)


_COUNTING: ContextVar[SampleMeter | None] = ContextVar("fedgen_sample_meter", default=None)
"""The meter of the :meth:`SampleMeter.counting` block being run, if any (a slot, not a counter)."""


@dataclass(frozen=True)
class LocalData:
    """One client's rows as tensors: ``x`` (n, d) in [-1, 1], ``y`` (n,) labels."""

    x: torch.Tensor
    y: torch.Tensor
    num_classes: int

    def batch(self, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch drawn with replacement (small shards may hold fewer rows than a batch)."""
        index = torch.randint(len(self.y), (size,))
        meter = _COUNTING.get()
        if meter is not None:
            meter.rows += size
        return self.x[index], self.y[index]
