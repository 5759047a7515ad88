"""FedAvg of any generative family: the family algorithm behind FedAvg-VAE and FedAvg-diffusion.

A family (:class:`GenerativeFamily`) says how to build its one network, its training loss on a batch
and how to sample; everything else is shared here. Each round the sampled clients start from the
global network, run ``local_steps`` Adam steps (fresh optimizer) on batches of their own rows, and
return the network with their row count; the server replaces the global network by the mean weighted
by row count (McMahan et al. 2017). Data loading, the partition report, ``samples.png`` and the final
metrics are the same for every family, so FedAvg-VAE and FedAvg-diffusion results compare.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from fedgen_registry.data.datasets import load_split
from fedgen_registry.data.partition import class_histogram, partition_rows
from fedgen_registry.federation.arrays import load_module_arrays, module_arrays, weighted_mean
from fedgen_registry.federation.config import FederationConfig
from fedgen_registry.federation.protocol import Algorithm, Client, Message, Server, State
from fedgen_registry.federation.seeding import derive_seed
from fedgen_registry.metrics.artefacts import save_image_grid, save_partition_report
from fedgen_registry.metrics.image import image_report
from fedgen_registry.objectives.gan import LocalData
from fedgen_registry.tasks.image_gan import GRID, DataConfig, EvalConfig

TRAIN = "train.fedavg"
PREFIX = "model."


class GenerativeFamily(Protocol):
    """One kind of generative model: its network, its loss and its sampler."""

    @property
    def conditional(self) -> bool: ...

    def build(self) -> nn.Module: ...

    def loss(self, model: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """The loss to minimise on a batch, and the scalars to report (``loss`` among them)."""
        ...

    def sample(self, model: nn.Module, count: int, labels: torch.Tensor | None) -> torch.Tensor:
        """``count`` flattened samples in [-1, 1] (one per label when conditional)."""
        ...


class AdamConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(64, ge=1)
    lr: float = Field(1e-3, gt=0)
    beta1: float = Field(0.9, ge=0, lt=1)
    beta2: float = Field(0.999, ge=0, lt=1)


class FamilyEvalConfig(EvalConfig):
    nearest_k: int = Field(5, ge=1, description="k of the k-NN balls of precision/recall/density/coverage.")


class FamilyConfig(FederationConfig):
    data: DataConfig = DataConfig()
    optim: AdamConfig = AdamConfig()
    eval: FamilyEvalConfig = FamilyEvalConfig()
    local_steps: int = Field(10, ge=1, description="Adam steps per client per round.")


def local_training(
    model: nn.Module, family: GenerativeFamily, data: LocalData, optim: AdamConfig, steps: int
) -> dict[str, float]:
    """``steps`` Adam steps on batches drawn from ``data``; the mean of each reported scalar."""
    optimizer = torch.optim.Adam(model.parameters(), lr=optim.lr, betas=(optim.beta1, optim.beta2))
    model.train()
    totals: dict[str, float] = {}
    for _ in range(steps):
        x, labels = data.batch(optim.batch_size)
        loss, scalars = family.loss(model, x, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        for key, value in scalars.items():
            totals[key] = totals.get(key, 0.0) + value
    return {key: total / steps for key, total in totals.items()}


class FedAvgServer(Server):
    """Holds the global network; its new weights are the row-count-weighted mean of the replies."""

    def __init__(self, model: nn.Module, clients_per_round: int | None) -> None:
        self.model = model
        self.clients_per_round = clients_per_round

    def configure(self, stage: str, server_round: int, clients: Sequence[int]) -> dict[int, Message]:
        return {cid: Message(TRAIN, module_arrays(self.model, PREFIX)) for cid in clients}

    def aggregate(self, stage: str, server_round: int, replies: Mapping[int, Message]) -> dict[str, float]:
        order = sorted(replies)
        sizes = [float(replies[cid].config["num_examples"]) for cid in order]
        load_module_arrays(self.model, weighted_mean([replies[cid].arrays for cid in order], sizes), PREFIX)
        keys = [key for key in replies[order[0]].config if key != "num_examples"]
        return {
            key: sum(float(replies[cid].config[key]) * n for cid, n in zip(order, sizes, strict=True)) / sum(sizes)
            for key in keys
        }

    def state_dict(self) -> State:
        return {"model": self.model.state_dict()}

    def load_state_dict(self, state: State) -> None:
        self.model.load_state_dict(state["model"])


class FedAvgClient(Client):
    """Stateless between rounds: its network is overwritten by every message."""

    def __init__(
        self, data: LocalData, model: nn.Module, family: GenerativeFamily, optim: AdamConfig, local_steps: int
    ) -> None:
        self.data, self.model, self.family, self.optim, self.local_steps = data, model, family, optim, local_steps

    def handle(self, message: Message) -> Message:
        if message.message_type != TRAIN:
            raise ValueError(f"a FedAvg client does not handle {message.message_type!r}")
        load_module_arrays(self.model, message.arrays, PREFIX)
        scalars = local_training(self.model, self.family, self.data, self.optim, self.local_steps)
        return Message(TRAIN, module_arrays(self.model, PREFIX), {"num_examples": len(self.data.y), **scalars})


ConfigT = TypeVar("ConfigT", bound=FamilyConfig)


class FedAvgFamilyAlgorithm(Algorithm[ConfigT], Generic[ConfigT]):
    """Loads and partitions the data (writing ``partition.json``/``.png``), runs FedAvg, judges the samples.

    A subclass only names its family (:meth:`make_family`) from its own config.
    """

    def __init__(self, config: ConfigT, run_dir: Path) -> None:
        super().__init__(config, run_dir)
        self.train, self.test = load_split(config.data.name, config.data.root)
        self.parts = partition_rows(self.train.y, config.clients, config.data, derive_seed(config.seed, "partition"))
        save_partition_report(class_histogram(self.train.y, self.parts, self.train.num_classes), run_dir)
        shape = self.train.shape
        if len(shape) != 3:
            raise ValueError(f"image families need (channels, height, width) images, not shape {shape}")
        self.family = self.make_family((shape[0], shape[1], shape[2]), self.train.num_classes)

    @abstractmethod
    def make_family(self, shape: tuple[int, int, int], num_classes: int) -> GenerativeFamily: ...

    @property
    def num_clients(self) -> int:
        return self.config.clients

    def make_server(self) -> FedAvgServer:
        return FedAvgServer(self.family.build(), self.config.clients_per_round)

    def make_client(self, client_id: int) -> FedAvgClient:
        rows = self.train.subset(self.parts[client_id])
        data = LocalData(torch.as_tensor(rows.x), torch.as_tensor(rows.y), self.train.num_classes)
        return FedAvgClient(data, self.family.build(), self.family, self.config.optim, self.config.local_steps)

    def finish(self, server: Server) -> dict[str, Any]:
        if not isinstance(server, FedAvgServer):
            raise TypeError(f"{type(server).__name__} holds no global network to evaluate")
        settings = self.config.eval
        labels = np.arange(settings.samples) % self.train.num_classes if self.family.conditional else None
        server.model.eval()
        with torch.no_grad():
            samples = self.family.sample(
                server.model, settings.samples, None if labels is None else torch.as_tensor(labels)
            ).numpy()
        save_image_grid(samples[:GRID].reshape(-1, *self.train.shape[1:]), self.run_dir / "samples.png")
        return image_report(
            samples, self.test, labels, settings.kid_subsets, settings.kid_subset_size, settings.nearest_k
        )
