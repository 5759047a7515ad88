"""Seeded partitioners: which rows (or columns) each client holds, as disjoint index arrays.

Every row partitioner covers the data exactly once (disjoint, complete), which the tests check; the
skewed ones redraw until each client holds at least ``min_size`` rows, so no client is empty.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

Parts = list[np.ndarray]
_MAX_DRAWS = 1000


class PartitionConfig(BaseModel):
    """How rows are split among clients (``vertical`` column splits are a separate call)."""

    model_config = ConfigDict(extra="forbid")

    partition: Literal["iid", "dirichlet", "shards", "quantity"] = "iid"
    alpha: float = Field(0.5, gt=0, description="Dirichlet concentration (dirichlet: label skew; quantity: size skew).")
    labels_per_client: int = Field(2, ge=1, description="Classes each client holds (shards).")
    min_size: int = Field(2, ge=1, description="Fewest rows a client may hold (dirichlet, quantity).")


def iid(n: int, clients: int, rng: np.random.Generator) -> Parts:
    """A uniform random split into near-equal parts."""
    return [np.sort(part) for part in np.array_split(rng.permutation(n), clients)]


def dirichlet(labels: np.ndarray, clients: int, alpha: float, rng: np.random.Generator, min_size: int = 2) -> Parts:
    """Label skew: each class is spread over clients by proportions drawn from Dirichlet(alpha)."""
    for _ in range(_MAX_DRAWS):
        parts: list[list[int]] = [[] for _ in range(clients)]
        for label in np.unique(labels):
            members = rng.permutation(np.flatnonzero(labels == label))
            cuts = (np.cumsum(rng.dirichlet(np.full(clients, alpha))) * len(members)).astype(int)[:-1]
            for client, chunk in enumerate(np.split(members, cuts)):
                parts[client].extend(chunk.tolist())
        if min(len(p) for p in parts) >= min_size:
            return [np.sort(np.asarray(p, dtype=np.int64)) for p in parts]
    raise ValueError(
        f"no Dirichlet({alpha}) split of {len(labels)} rows gives {clients} clients {min_size}+ rows each "
        f"in {_MAX_DRAWS} draws: raise data.alpha, lower clients or lower data.min_size"
    )


def shards(labels: np.ndarray, clients: int, labels_per_client: int, rng: np.random.Generator) -> Parts:
    """Pathological label skew: each client holds ``labels_per_client`` classes, shared evenly with their other holders."""
    classes = rng.permutation(np.unique(labels))
    if labels_per_client > len(classes) or clients * labels_per_client < len(classes):
        raise ValueError(f"{clients} clients x {labels_per_client} labels cannot cover {len(classes)} classes exactly")
    holders: dict[int, list[int]] = {int(c): [] for c in classes}
    for client in range(clients):
        for j in range(labels_per_client):
            holders[int(classes[(client * labels_per_client + j) % len(classes)])].append(client)
    parts: list[list[int]] = [[] for _ in range(clients)]
    for label, owners in holders.items():
        members = rng.permutation(np.flatnonzero(labels == label))
        for client, chunk in zip(owners, np.array_split(members, len(owners)), strict=True):
            parts[client].extend(chunk.tolist())
    return [np.sort(np.asarray(p, dtype=np.int64)) for p in parts]


def quantity_skew(n: int, clients: int, alpha: float, rng: np.random.Generator, min_size: int = 2) -> Parts:
    """Size skew with IID labels: client sizes are ``min_size`` plus a Dirichlet(alpha) share of the rest."""
    spare = n - clients * min_size
    if spare < 0:
        raise ValueError(f"{n} rows cannot give {clients} clients {min_size}+ rows each")
    sizes = min_size + rng.multinomial(spare, rng.dirichlet(np.full(clients, alpha)))
    return [np.sort(part) for part in np.split(rng.permutation(n), np.cumsum(sizes)[:-1])]


def vertical(num_features: int, parties: int, rng: np.random.Generator) -> Parts:
    """Vertical partition: each party holds a disjoint random set of columns (indices into features)."""
    if parties > num_features:
        raise ValueError(f"{num_features} columns cannot be split among {parties} parties")
    return [np.sort(part) for part in np.array_split(rng.permutation(num_features), parties)]


def most_clients(rows: int, config: PartitionConfig) -> int:
    """The most clients ``rows`` rows can be split among under ``config``: every client must hold a row
    (iid), ``min_size`` rows (dirichlet, quantity) or one row of each of its ``labels_per_client`` classes."""
    if config.partition == "iid":
        return rows
    if config.partition == "shards":
        return rows // config.labels_per_client
    return rows // config.min_size


def check_clients(rows: int, clients: int, config: PartitionConfig, dataset: str = "the dataset") -> None:
    """Refuse, before anything is split or built, more clients than the rows can serve (one line, the limit)."""
    most = most_clients(rows, config)
    if clients > most:
        each = {
            "iid": "a row",
            "shards": f"a row of each of its data.labels_per_client={config.labels_per_client} classes",
        }.get(config.partition, f"data.min_size={config.min_size} rows")
        raise ValueError(
            f"clients={clients} is more than the {rows} training rows of {dataset} can serve: with "
            f"data.partition={config.partition} every client needs {each}, so clients can be at most {most}"
        )


def partition_rows(labels: np.ndarray, clients: int, config: PartitionConfig, seed: int) -> Parts:
    """Dispatch on ``config.partition`` with a generator seeded by ``seed``."""
    check_clients(len(labels), clients, config)
    rng = np.random.default_rng(seed)
    if config.partition == "iid":
        return iid(len(labels), clients, rng)
    if config.partition == "dirichlet":
        return dirichlet(labels, clients, config.alpha, rng, config.min_size)
    if config.partition == "shards":
        return shards(labels, clients, config.labels_per_client, rng)
    return quantity_skew(len(labels), clients, config.alpha, rng, config.min_size)


def class_histogram(labels: np.ndarray, parts: Parts, num_classes: int) -> np.ndarray:
    """Rows per (client, class): shape (clients, num_classes)."""
    return np.stack([np.bincount(labels[p], minlength=num_classes) for p in parts])
