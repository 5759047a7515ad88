"""Image generation by any generative family: the task behind FedAvg-VAE and FedAvg-diffusion.

A family (:class:`GenerativeFamily`) says how to build its one network, its training loss on a batch
and how to sample. The task loads and partitions the data (the partition report), gives each client
its rows, and judges the final network (``samples.png`` and the shared image metrics), the same for
every family so that FedAvg-VAE and FedAvg-diffusion results compare; how the network is trained
across clients is a strategy's (:mod:`fedgen_registry.strategies.family`).
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from fedgen_registry.federation.config import FederationConfig
from fedgen_registry.metrics.artefacts import save_image_grid
from fedgen_registry.metrics.image import features_for, image_report
from fedgen_registry.metrics.memorisation import memorisation_report
from fedgen_registry.tasks.image_gan import GRID, EvalConfig
from fedgen_registry.tasks.partitioned import DataConfig, PartitionedImages


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


ConfigT = TypeVar("ConfigT", bound=FamilyConfig)


class ImageFamilyTask(PartitionedImages[ConfigT], Generic[ConfigT]):
    """The partitioned images (:class:`~fedgen_registry.tasks.partitioned.PartitionedImages`), judged by a
    family's network.

    A subclass names its family (:meth:`make_family`) from its own config and says how the network is
    trained (its server and clients).
    """

    def __init__(self, config: ConfigT, run_dir: Path) -> None:
        super().__init__(config, run_dir)
        shape = self.train.shape
        if len(shape) != 3:
            raise ValueError(f"image families need (channels, height, width) images, not shape {shape}")
        self.family = self.make_family((shape[0], shape[1], shape[2]), self.train.num_classes)

    @abstractmethod
    def make_family(self, shape: tuple[int, int, int], num_classes: int) -> GenerativeFamily: ...

    def judge(self, model: nn.Module) -> dict[str, Any]:
        """Samples of the final network against the held-out split; ``samples.png`` shows some."""
        settings = self.config.eval
        labels = np.arange(settings.samples) % self.train.num_classes if self.family.conditional else None
        model.eval()
        with torch.no_grad():
            samples = self.family.sample(
                model, settings.samples, None if labels is None else torch.as_tensor(labels)
            ).numpy()
        save_image_grid(samples[:GRID].reshape(-1, *self.train.shape[1:]), self.run_dir / "samples.png")
        extractor = features_for(self.config.data.name, self.config.data.root)
        report = image_report(
            samples, self.test, labels, settings.kid_subsets, settings.kid_subset_size, settings.nearest_k, extractor
        )
        return {**report, **memorisation_report(samples, self.train, self.test)}
