"""CTGAN's conditional vector and training-by-sampling, vectorised, on one party's encoded rows.

CTGAN (Xu et al. 2019) conditions its generator on one category of one discrete column: the column
is drawn uniformly, the category by its log frequency in the training rows (so rare categories are
trained on as well), and the critic sees real rows that hold the same categories. The generator is
sampled with the categories' plain frequencies instead. ctgan's ``DataSampler`` does the same with a
Python loop per row; here each draw is a few array operations, which matters at a batch of 500 rows
per step. Draws use numpy's global generator, which the engines re-seed before every client call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Condition:
    """A batch of conditions: the one-hot vectors, which column each names, and which category of it."""

    vectors: np.ndarray
    mask: np.ndarray
    column: np.ndarray
    category: np.ndarray

    def take(self, index: np.ndarray) -> Condition:
        return Condition(self.vectors[index], self.mask[index], self.column[index], self.category[index])


def discrete_spans(output_info: list) -> list[tuple[int, int]]:
    """(start in an encoded row, width) of every discrete column's one-hot (a single softmax span)."""
    spans, start = [], 0
    for column in output_info:
        if len(column) == 1 and column[0].activation_fn == "softmax":
            spans.append((start, column[0].dim))
        start += sum(span.dim for span in column)
    return spans


class ConditionSampler:
    """Conditions and matching real rows drawn from encoded ``rows`` (see the module)."""

    def __init__(self, rows: np.ndarray, output_info: list, log_frequency: bool) -> None:
        spans = discrete_spans(output_info)
        self.widths = np.array([width for _, width in spans], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.widths)[:-1]]).astype(np.int64)
        self.dim = int(self.widths.sum())
        widest = int(self.widths.max(initial=0))
        counts = np.zeros((len(spans), widest))
        members: list[np.ndarray] = []
        for j, (start, width) in enumerate(spans):
            hot = rows[:, start : start + width].argmax(axis=1)
            counts[j, :width] = np.bincount(hot, minlength=width)
            members += [np.flatnonzero(hot == k) for k in range(width)]
        weights = np.log1p(counts) if log_frequency else counts
        self.cumulative = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
        for j in range(len(spans)):  # exactly 1 from the last category held on: no rounding gap
            self.cumulative[j, np.flatnonzero(counts[j])[-1] :] = 1.0
        self.frequency = counts / counts.sum()  # over every category of every column: ctgan's generation draw
        sizes = np.array([len(m) for m in members], dtype=np.int64)
        self.member_start = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.member_count = sizes
        self.members = np.concatenate(members).astype(np.int64) if members else np.zeros(0, dtype=np.int64)
        self.num_rows = len(rows)

    def training(self, batch: int) -> Condition | None:
        """Training conditions: a uniform column, then a category by its (log) frequency; None without columns."""
        if self.dim == 0:
            return None
        column = np.random.randint(len(self.widths), size=batch)
        category = (self.cumulative[column] > np.random.rand(batch, 1)).argmax(axis=1)
        return self._condition(column, category)

    def generation(self, count: int) -> np.ndarray | None:
        """Generation conditions: (column, category) pairs drawn by their plain frequencies."""
        if self.dim == 0:
            return None
        flat = np.random.choice(self.frequency.size, size=count, p=self.frequency.ravel())
        column, category = np.divmod(flat, self.frequency.shape[1])
        return self._condition(column, category).vectors

    def rows(self, condition: Condition | None, batch: int) -> np.ndarray:
        """Indices of real rows, one per condition, each holding its condition's category (uniform without)."""
        if condition is None:
            return np.random.randint(self.num_rows, size=batch)
        cell = self.offsets[condition.column] + condition.category  # the (column, category) pair's member list
        pick = (np.random.rand(len(cell)) * self.member_count[cell]).astype(np.int64)
        return self.members[self.member_start[cell] + pick]

    def _condition(self, column: np.ndarray, category: np.ndarray) -> Condition:
        batch = len(column)
        vectors = np.zeros((batch, self.dim), dtype=np.float32)
        vectors[np.arange(batch), self.offsets[column] + category] = 1
        mask = np.zeros((batch, len(self.widths)), dtype=np.float32)
        mask[np.arange(batch), column] = 1
        return Condition(vectors, mask, column, category)


@dataclass(frozen=True)
class EncodedRows:
    """One party's rows in the encoded space, with the sampler of its conditions and matching rows."""

    rows: np.ndarray
    sampler: ConditionSampler
    output_info: list

    def __len__(self) -> int:
        return len(self.rows)


def encoded_rows(rows: np.ndarray, output_info: list, log_frequency: bool) -> EncodedRows:
    return EncodedRows(rows, ConditionSampler(rows, output_info, log_frequency), output_info)
