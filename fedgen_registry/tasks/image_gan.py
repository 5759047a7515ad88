"""What every image-GAN algorithm shares around its own protocol: data, partition, networks, judging.

An algorithm subclasses :class:`ImageGANAlgorithm` and writes only its server and client logic; the
split of the data among clients (and its report), network construction and the final evaluation
(``samples.png`` and KID against the held-out split) are the same for all, so results compare.
KID is computed on the features of a classifier of the run's own dataset (the bundled digits, or
MNIST, Fashion-MNIST, CIFAR-10 from a local root), trained once and cached
(:func:`~fedgen_registry.metrics.image.features_for`).
"""

from __future__ import annotations

from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from fedgen_registry.data.dataset import Dataset
from fedgen_registry.federation.config import FederationConfig
from fedgen_registry.federation.protocol import Server
from fedgen_registry.metrics.artefacts import save_image_grid
from fedgen_registry.metrics.image import features_for, prdc, sample_quality
from fedgen_registry.metrics.memorisation import memorisation_report
from fedgen_registry.models.gan import ModelConfig, build_discriminator, build_generator
from fedgen_registry.objectives.gan import OptimConfig, generate
from fedgen_registry.tasks.partitioned import DataConfig, PartitionedImages

GRID = 64


class EvalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    samples: int = Field(360, ge=2, description="Generated samples compared with the held-out split.")
    kid_subsets: int = Field(50, ge=1)
    kid_subset_size: int = Field(100, ge=2)


class ImageGANConfig(FederationConfig):
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    optim: OptimConfig = OptimConfig()
    eval: EvalConfig = EvalConfig()


ConfigT = TypeVar("ConfigT", bound=ImageGANConfig)


def evaluate_samples(
    samples: np.ndarray, reference: Dataset, labels: np.ndarray | None, config: EvalConfig, data: DataConfig
) -> dict[str, Any]:
    """KID (and label accuracy), precision and recall (with density and coverage, k = 5) against ``reference``
    on the features of ``data``'s own classifier: KID alone cannot tell a collapsed generator from a good
    one that misses some modes, recall can."""
    extractor = features_for(data.name, data.root)
    quality = sample_quality(samples, reference, labels, config.kid_subsets, config.kid_subset_size, extractor)
    return {**quality, **prdc(extractor.features(reference.x), extractor.features(samples))}


@runtime_checkable
class HoldsGenerator(Protocol):
    """A server whose final generator the evaluation samples from."""

    generator: nn.Module


class ImageGANAlgorithm(PartitionedImages[ConfigT], Generic[ConfigT]):
    """The partitioned images (:class:`~fedgen_registry.tasks.partitioned.PartitionedImages`), GAN networks
    built alike for every paper, and the evaluation of the final generator."""

    @property
    def conditional(self) -> bool:
        return self.config.model.conditional

    def new_generator(self) -> nn.Module:
        return build_generator(self.config.model, self.train.x.shape[1], self.train.num_classes, self.train.shape)

    def new_discriminator(self) -> nn.Module:
        return build_discriminator(self.config.model, self.train.x.shape[1], self.train.num_classes, self.train.shape)

    def finish(self, server: Server) -> dict[str, Any]:
        if not isinstance(server, HoldsGenerator):
            raise TypeError(f"{type(server).__name__} has no generator to evaluate")
        count = self.config.eval.samples
        labels = np.arange(count) % self.train.num_classes if self.conditional else None
        with torch.no_grad():
            samples = generate(
                server.generator,
                count,
                self.config.model.latent_dim,
                None if labels is None else torch.as_tensor(labels),
            ).numpy()
        save_image_grid(samples[:GRID].reshape(-1, *self.train.shape[1:]), self.run_dir / "samples.png")
        return {
            **evaluate_samples(samples, self.test, labels, self.config.eval, self.config.data),
            **memorisation_report(samples, self.train, self.test),
        }
