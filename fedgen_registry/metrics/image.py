"""Offline sample-quality metrics on the penultimate features of a small classifier of the run's dataset.

Inception features need a download and do not fit 8x8 images, so the feature extractor is our own
classifier, trained deterministically on the dataset's train split at first use and cached under
``$FEDGEN_CACHE`` (default ``~/.cache/fedgen``): the bundled digits (:func:`digits_features`) or any
labelled dataset the loaders read from a local root, MNIST, Fashion-MNIST, CIFAR-10 (:func:`features_for`).
Its test accuracy is reported with every result so a reader can judge the features. KID (Binkowski et al. 2018: unbiased MMD^2 with the cubic polynomial
kernel, averaged over random subsets) is the primary metric because it is unbiased at the few hundred
samples a digits run has, where FID is not. :func:`image_report` adds, on the same features, the
classifier-FID, precision/recall/density/coverage (Naeem et al. 2020),
the label accuracy of conditional samples and train-on-synthetic/test-on-real accuracy.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from fedgen_registry.data.dataset import Dataset
from fedgen_registry.data.datasets import digits_split, load_split
from fedgen_registry.federation.checkpoint import load_checkpoint, save_checkpoint
from fedgen_registry.federation.seeding import deterministic

CLASSIFIER_FILE = "digits-classifier-v1.pt"
_EPOCHS = 300
FULL_BATCH_ROWS = 5_000
"""Train splits up to this size are fitted full-batch for ``_EPOCHS`` (the digits recipe); larger ones by
mini-batches (``_MINIBATCH_EPOCHS`` passes of ``_MINIBATCH`` rows), which 60,000 28x28 images need on a CPU."""
_MINIBATCH, _MINIBATCH_EPOCHS = 256, 8


def cache_dir() -> Path:
    return Path(os.environ.get("FEDGEN_CACHE") or Path.home() / ".cache" / "fedgen")


class FeatureClassifier(nn.Module):
    """pixels -> 128 -> 64 (features) -> classes; on the digits, 64 -> 128 -> 64 -> 10."""

    def __init__(self, in_dim: int = 64, num_classes: int = 10) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(in_dim, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU())
        self.head = nn.Linear(64, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


@dataclass(frozen=True)
class FeatureExtractor:
    """Penultimate features centred on their train-split mean and divided by one overall spread.

    Raw ReLU features have a scale of ~10, which puts the cubic kernel in the thousands; rescaling
    brings ``x.y / d`` to O(1), the regime the KID kernel was designed for on Inception features. One
    scalar, not a per-dimension spread, so near-constant (dead) units are not blown up.
    """

    model: FeatureClassifier
    test_accuracy: float
    mean: np.ndarray
    scale: float

    @torch.no_grad()
    def raw_features(self, x: np.ndarray) -> np.ndarray:
        return self.model.features(torch.as_tensor(x, dtype=torch.float32)).double().numpy()

    def features(self, x: np.ndarray) -> np.ndarray:
        return (self.raw_features(x) - self.mean) / self.scale

    @torch.no_grad()
    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.model(torch.as_tensor(x, dtype=torch.float32)).argmax(1).numpy()


def _train(train: Dataset) -> FeatureClassifier:
    """Adam with weight decay, seeded inside a forked RNG so callers' random streams are untouched.

    Full-batch on small splits (the digits), mini-batches in a seeded order on large ones.
    """
    with torch.random.fork_rng(devices=[]), deterministic(threads=1):
        torch.manual_seed(0)
        model = FeatureClassifier(train.x.shape[1], train.num_classes)
        optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
        x, y = torch.as_tensor(train.x, dtype=torch.float32), torch.as_tensor(train.y)
        if len(y) <= FULL_BATCH_ROWS:
            batches = [slice(None)] * _EPOCHS
        else:
            batches = [
                order[i : i + _MINIBATCH]
                for _ in range(_MINIBATCH_EPOCHS)
                for order in [torch.randperm(len(y))]
                for i in range(0, len(y), _MINIBATCH)
            ]
        for rows in batches:
            loss = functional.cross_entropy(model(x[rows]), y[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return model.eval()


@cache
def digits_features() -> FeatureExtractor:
    """The cached digits classifier (trained now if the cache has none) and its accuracy on the test split."""
    return _extractor(*digits_split(), CLASSIFIER_FILE)


@cache
def features_for(name: str, root: str | None = None) -> FeatureExtractor:
    """The feature classifier of dataset ``name`` (read from ``root``, as the run's loaders read it).

    The digits get :func:`digits_features`; any other dataset its own classifier, cached under a name
    that fingerprints the training rows (so a real-scale dataset trains once per machine, and two
    different folders of the same name never share a classifier).
    """
    if name == "digits":
        return digits_features()
    train, test = load_split(name, root)
    head = hashlib.sha256(train.x[:1000].tobytes() + train.y[:1000].tobytes()).hexdigest()[:12]
    return _extractor(train, test, f"{name}-{len(train)}x{train.x.shape[1]}-{head}-classifier-v1.pt")


def _extractor(train: Dataset, test: Dataset, filename: str) -> FeatureExtractor:
    path = cache_dir() / filename
    model = FeatureClassifier(train.x.shape[1], train.num_classes)
    if path.exists():
        model.load_state_dict(load_checkpoint(path)["weights"])
        model.eval()
    else:
        model = _train(train)
        save_checkpoint(path, {"weights": model.state_dict()})
    probe = FeatureExtractor(model, 0.0, np.zeros(1), 1.0)
    accuracy = float((probe.predict(test.x) == test.y).mean())
    reference = probe.raw_features(train.x)
    return FeatureExtractor(model, accuracy, reference.mean(axis=0), float(reference.std()))


def kid(
    real: np.ndarray, fake: np.ndarray, subsets: int = 50, subset_size: int = 100, seed: int = 0
) -> tuple[float, float]:
    """Kernel Inception Distance between two feature sets: mean and standard deviation over subsets."""
    m = min(subset_size, len(real), len(fake))
    if m < 2:
        raise ValueError("KID needs at least two samples on each side")
    rng = np.random.default_rng(seed)
    dim = real.shape[1]
    values = np.empty(subsets)
    for i in range(subsets):
        x = real[rng.choice(len(real), m, replace=False)]
        y = fake[rng.choice(len(fake), m, replace=False)]
        k_xx = (x @ x.T / dim + 1) ** 3
        k_yy = (y @ y.T / dim + 1) ** 3
        k_xy = (x @ y.T / dim + 1) ** 3
        within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
        values[i] = within - 2 * k_xy.mean()
    return float(values.mean()), float(values.std())


def sample_quality(
    samples: np.ndarray,
    reference: Dataset,
    labels: np.ndarray | None = None,
    subsets: int = 50,
    subset_size: int = 100,
    extractor: FeatureExtractor | None = None,
) -> dict[str, float]:
    """KID of ``samples`` against held-out real rows; label accuracy too when samples were generated per label.

    ``extractor``: the dataset's feature classifier (:func:`features_for`); the digits' by default.
    """
    extractor = extractor or digits_features()
    kid_mean, kid_std = kid(extractor.features(reference.x), extractor.features(samples), subsets, subset_size)
    result = {"kid": kid_mean, "kid_std": kid_std, "classifier_test_accuracy": extractor.test_accuracy}
    if labels is not None:
        result["label_accuracy"] = label_accuracy(samples, labels, extractor)
    return result


def frechet_distance(real: np.ndarray, fake: np.ndarray) -> float:
    """FID between two feature sets (n, d): ||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2)).

    The formula of torchmetrics' ``FrechetInceptionDistance`` (square roots of the eigenvalues of
    S_r S_f, unbiased covariances, float64; a test checks the two agree), written out because importing
    torchmetrics costs seconds per run. Biased upwards at small sample sizes, so compare values computed
    with the same number of samples; KID is the unbiased companion.
    """
    if len(real) < 2 or len(fake) < 2:
        raise ValueError("FID needs at least two samples on each side")
    x, y = torch.as_tensor(real, dtype=torch.float64), torch.as_tensor(fake, dtype=torch.float64)
    cov_x, cov_y = torch.cov(x.T), torch.cov(y.T)
    root_trace = torch.linalg.eigvals(cov_x @ cov_y).sqrt().real.sum()
    return float((x.mean(0) - y.mean(0)).square().sum() + cov_x.trace() + cov_y.trace() - 2 * root_trace)


def prdc(real: np.ndarray, fake: np.ndarray, nearest_k: int = 5) -> dict[str, float]:
    """Precision, recall, density and coverage (Naeem et al. 2020) with k-nearest-neighbour balls.

    Precision: share of fake points inside some real point's k-NN ball (fidelity); recall: share of real
    points inside some fake point's ball (diversity); density counts how many real balls hold each fake
    point, over k (about 1 for a matching distribution); coverage: share of real balls that hold a fake point.
    """
    if min(len(real), len(fake)) <= nearest_k:
        raise ValueError(f"PRDC with k={nearest_k} needs more than {nearest_k} samples on each side")
    real_t, fake_t = torch.as_tensor(real, dtype=torch.float64), torch.as_tensor(fake, dtype=torch.float64)
    real_radii = _kth_neighbour_distance(real_t, nearest_k)
    fake_radii = _kth_neighbour_distance(fake_t, nearest_k)
    real_to_fake = torch.cdist(real_t, fake_t)  # (n_real, n_fake)
    inside_real = real_to_fake <= real_radii[:, None]
    return {
        "precision": float(inside_real.any(dim=0).double().mean()),
        "recall": float((real_to_fake <= fake_radii[None, :]).any(dim=1).double().mean()),
        "density": float(inside_real.double().sum() / (nearest_k * len(fake))),
        "coverage": float((real_to_fake.min(dim=1).values <= real_radii).double().mean()),
    }


def _kth_neighbour_distance(points: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each point to its k-th nearest other point (column 0 of the sort is the point itself)."""
    return torch.cdist(points, points).sort(dim=1).values[:, k]


def label_accuracy(samples: np.ndarray, labels: np.ndarray, extractor: FeatureExtractor | None = None) -> float:
    """Share of conditional samples that the metrics classifier assigns to the label they were generated for."""
    return float(((extractor or digits_features()).predict(samples) == labels).mean())


def tstr_accuracy(samples: np.ndarray, labels: np.ndarray, reference: Dataset) -> float:
    """Train on synthetic, test on real: a fresh classifier, same recipe as the metrics one, fitted on the samples.

    Its train-on-real counterpart is the metrics classifier's own test accuracy (same architecture,
    recipe and seed on the real train split), reported beside it as ``classifier_test_accuracy``.
    """
    synthetic = Dataset(
        "synthetic", samples.astype(np.float32), labels.astype(np.int64), reference.shape, reference.num_classes
    )
    model = _train(synthetic)
    with torch.no_grad():
        predicted = model(torch.as_tensor(reference.x, dtype=torch.float32)).argmax(1).numpy()
    return float((predicted == reference.y).mean())


def image_report(
    samples: np.ndarray,
    reference: Dataset,
    labels: np.ndarray | None = None,
    subsets: int = 50,
    subset_size: int = 100,
    nearest_k: int = 5,
    extractor: FeatureExtractor | None = None,
) -> dict[str, float]:
    """:func:`sample_quality` plus FID and PRDC, and TSTR accuracy when samples were generated per label."""
    extractor = extractor or digits_features()
    real, fake = extractor.features(reference.x), extractor.features(samples)
    result = sample_quality(samples, reference, labels, subsets, subset_size, extractor)
    result["fid"] = frechet_distance(real, fake)
    result |= prdc(real, fake, nearest_k)
    if labels is not None:
        result["tstr_accuracy"] = tstr_accuracy(samples, labels, reference)
    return result
