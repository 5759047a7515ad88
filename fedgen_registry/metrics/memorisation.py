"""Memorisation: does a generator hand back its training rows?

A KID at the real-vs-real floor can also mean copied training rows, so every image run also reports the
distance to the closest record (DCR): for each generated sample, the L2 distance in pixel space to its
nearest training row, and the same distance for held-out real rows, which no client trained on. A
generator that generalises puts its samples about as far from the training rows as fresh real rows are
(``dcr_ratio``, the ratio of the two medians, near 1 or above); one that copies puts them much closer
(ratio well below 1). A sample nearer to a training row than :data:`COPY_DISTANCE` times the held-out
median counts as a copy, and a run whose share of copies exceeds :data:`FLAGGED_SHARE` is flagged.
"""

from __future__ import annotations

import numpy as np
import torch

from fedgen_registry.data.dataset import Dataset

COPY_DISTANCE = 0.1
"""A sample this close to a training row, as a fraction of held-out rows' median DCR, is a copy."""
FLAGGED_SHARE = 0.05
"""More copies than this share of the samples flags the run (``copies_flagged``)."""
_CHUNK = 512


def closest_record_distances(points: np.ndarray, records: np.ndarray) -> np.ndarray:
    """For each row of ``points``, the L2 distance to its nearest row of ``records`` (both flattened)."""
    table = torch.as_tensor(np.asarray(records), dtype=torch.float64).flatten(1)
    queries = torch.as_tensor(np.asarray(points), dtype=torch.float64).flatten(1)
    nearest = [torch.cdist(queries[i : i + _CHUNK], table).min(dim=1).values for i in range(0, len(queries), _CHUNK)]
    return torch.cat(nearest).numpy()


def memorisation_report(samples: np.ndarray, train: Dataset, holdout: Dataset) -> dict[str, float | bool | None]:
    """DCR of the samples against the training rows, read against held-out rows' DCR (see the module).

    The held-out side uses the first ``len(samples)`` held-out rows, so both medians come from samples of
    the same size and the cost stays that of one small distance table on real-scale datasets.
    """
    reference = holdout.x[: len(samples)]
    generated = closest_record_distances(samples, train.x)
    real = closest_record_distances(reference, train.x)
    real_median = float(np.median(real))
    copied = float(np.mean(generated < COPY_DISTANCE * real_median))
    return {
        "dcr_median": float(np.median(generated)),
        "dcr_holdout_median": real_median,
        "dcr_ratio": float(np.median(generated)) / real_median if real_median > 0 else None,
        "copied_fraction": copied,
        "copies_flagged": copied > FLAGGED_SHARE,
    }
