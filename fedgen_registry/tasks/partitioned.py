"""What every task on a labelled image dataset does first: load it, split its training rows among clients.

The split is seeded from the run's root seed and reported (``partition.json`` and ``partition.png``), and
each client sees only its own rows through :meth:`PartitionedImages.client_data`. Image generation
(GAN and the other families) and classification share this, so a GAN and a classifier trained with the
same settings see the same clients.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import torch
from pydantic import Field

from fedgen_registry.data.datasets import load_split
from fedgen_registry.data.local import LocalData
from fedgen_registry.data.partition import PartitionConfig, check_clients, class_histogram, partition_rows
from fedgen_registry.federation.protocol import Algorithm
from fedgen_registry.federation.seeding import derive_seed
from fedgen_registry.metrics.artefacts import save_partition_report


class DataConfig(PartitionConfig):
    """Which dataset, and how its training rows are split among clients."""

    name: Literal["digits", "mnist", "fashion-mnist", "cifar10", "celeba"] = "digits"
    root: str | None = Field(
        None, description="Folder of a real-scale dataset's files (default $FEDGEN_DATA/<name>); never downloaded."
    )


ConfigT = TypeVar("ConfigT")


class PartitionedImages(Algorithm[Any], Generic[ConfigT]):
    """Loads ``config.data``, splits the training rows over ``config.clients`` and writes the partition report."""

    def __init__(self, config: ConfigT, run_dir: Path) -> None:
        super().__init__(config, run_dir)
        data: DataConfig = config.data  # type: ignore[attr-defined]
        self.train, self.test = load_split(data.name, data.root)
        check_clients(len(self.train), config.clients, data, data.name)  # type: ignore[attr-defined]
        self.parts = partition_rows(
            self.train.y,
            config.clients,  # type: ignore[attr-defined]
            data,
            derive_seed(config.seed, "partition"),  # type: ignore[attr-defined]
        )
        save_partition_report(class_histogram(self.train.y, self.parts, self.train.num_classes), run_dir)

    @property
    def num_clients(self) -> int:
        return self.config.clients

    def client_data(self, client_id: int) -> LocalData:
        rows = self.train.subset(self.parts[client_id])
        return LocalData(torch.as_tensor(rows.x), torch.as_tensor(rows.y), self.train.num_classes)
