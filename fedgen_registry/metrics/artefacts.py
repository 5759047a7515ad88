"""Files a run leaves for people to look at: the partition (JSON + PNG) and a grid of samples.

Matplotlib is used with the Agg backend, so nothing needs a display.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from fedgen_registry.federation.atomic import write_text_atomic


def save_partition_report(histogram: np.ndarray, run_dir: Path) -> None:
    """``partition.json`` (rows per client and class) and ``partition.png`` (stacked bars per client, a heat map for many clients)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    report = {
        "clients": int(histogram.shape[0]),
        "classes": int(histogram.shape[1]),
        "sizes": histogram.sum(axis=1).tolist(),
        "histogram": histogram.tolist(),
    }
    write_text_atomic(run_dir / "partition.json", json.dumps(report, indent=2) + "\n")
    figure = _heat_map(histogram) if histogram.shape[0] > BARS_UP_TO else _stacked_bars(histogram)
    figure.tight_layout()
    figure.savefig(run_dir / "partition.png", dpi=100)
    plt.close(figure)


BARS_UP_TO = 40
"""Clients up to which the partition is drawn as one bar each; beyond, bars are unreadable (and a thousand
clients' ten thousand patches take seconds to draw), so it becomes a heat map of a fixed size."""


def _stacked_bars(histogram: np.ndarray) -> plt.Figure:
    figure, axes = plt.subplots(figsize=(max(4.0, 0.45 * histogram.shape[0] + 2), 3.2))
    bottom = np.zeros(histogram.shape[0])
    colours = plt.get_cmap("tab10" if histogram.shape[1] <= 10 else "tab20")
    for label in range(histogram.shape[1]):
        axes.bar(range(histogram.shape[0]), histogram[:, label], bottom=bottom, color=colours(label), label=str(label))
        bottom += histogram[:, label]
    axes.set_xlabel("client")
    axes.set_ylabel("rows")
    axes.set_xticks(range(histogram.shape[0]))
    axes.legend(title="class", fontsize=6, title_fontsize=7, ncols=2, bbox_to_anchor=(1.01, 1), loc="upper left")
    return figure


def _heat_map(histogram: np.ndarray) -> plt.Figure:
    figure, axes = plt.subplots(figsize=(10.0, 3.2))
    image = axes.imshow(histogram.T, aspect="auto", interpolation="nearest", cmap="viridis")
    axes.set_xlabel(f"client (0-{histogram.shape[0] - 1})")
    axes.set_ylabel("class")
    figure.colorbar(image, ax=axes, label="rows")
    return figure


def save_image_grid(images: np.ndarray, path: Path, columns: int = 8, scale: int = 4) -> None:
    """Images (n, h, w) in [-1, 1] as one grayscale grid, each pixel drawn as ``scale`` x ``scale``."""
    count, height, width = images.shape
    rows = -(-count // columns)
    grid = np.zeros((rows * (height + 1) + 1, columns * (width + 1) + 1))
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        grid[
            1 + r * (height + 1) : 1 + r * (height + 1) + height, 1 + c * (width + 1) : 1 + c * (width + 1) + width
        ] = (image + 1.0) / 2.0
    pixels = np.kron(np.clip(grid, 0.0, 1.0), np.ones((scale, scale)))  # 8x8 images are unreadable at 1:1
    plt.imsave(path, pixels, cmap="gray_r", vmin=0.0, vmax=1.0)
