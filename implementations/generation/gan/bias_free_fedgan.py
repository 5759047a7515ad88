"""Bias-Free FedGAN (Mugunthan et al., 2021): the aggregator retrains the averaged GAN on metadata.

Clients train and upload their generator and discriminator exactly as in FedGAN (same messages, same
communication cost). What makes the paper that paper, and all this file holds, happens at the
aggregator after the weighted average: it draws *metadata*, an equal number of synthetic rows from
each client's received generator, so that every client's modes are represented whatever its data
size, and retrains the averaged GAN for a few steps with that metadata as its real data. Averaging
alone biases the generator towards the classes of the large or mutually similar clients on non-IID
data; the retraining on balanced metadata pulls it back.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import torch
from pydantic import Field
from torch import nn

from fedgen_registry.data.local import LocalData
from fedgen_registry.federation.arrays import load_module_arrays
from fedgen_registry.federation.protocol import Message
from fedgen_registry.objectives.gan import OptimConfig, fake_labels, generate, train_steps
from fedgen_registry.registry import register
from fedgen_registry.strategies.gan import FedAvgGANAlgorithm, PairServer
from fedgen_registry.tasks.image_gan import ImageGANConfig


class BiasFreeFedGANConfig(ImageGANConfig):
    local_steps: int = Field(5, ge=1, description="Alternating D/G updates per client per round.")
    metadata_per_client: int = Field(32, ge=1, description="Synthetic rows drawn from each client's generator.")
    retrain_steps: int = Field(5, ge=0, description="Server-side GAN updates on the metadata per round (0: FedGAN).")


class BiasFreeServer(PairServer):
    """FedGAN averaging followed by retraining on metadata drawn evenly from the clients' generators."""

    def __init__(
        self, generator: nn.Module, discriminator: nn.Module, config: BiasFreeFedGANConfig, num_classes: int
    ) -> None:
        super().__init__(generator, discriminator, config.clients_per_round)
        self.config, self.num_classes = config, num_classes
        self.metadata_sources: dict[int, int] = {}

    def metadata(self, order: Sequence[int], replies: Mapping[int, Message]) -> LocalData:
        """``metadata_per_client`` rows from each received generator (labels drawn uniformly when conditional)."""
        scratch = copy.deepcopy(self.generator)
        rows, labels = [], []
        count, conditional = self.config.metadata_per_client, self.config.model.conditional
        for cid in order:
            load_module_arrays(scratch, replies[cid].arrays, "g.")
            drawn = fake_labels(count, self.num_classes, conditional)
            with torch.no_grad():
                rows.append(generate(scratch, count, self.config.model.latent_dim, drawn))
            labels.append(drawn if drawn is not None else torch.zeros(count, dtype=torch.long))
        self.metadata_sources = {cid: count for cid in order}
        return LocalData(torch.cat(rows), torch.cat(labels), self.num_classes)

    def aggregate(self, stage: str, server_round: int, replies: Mapping[int, Message]) -> dict[str, float]:
        metrics = super().aggregate(stage, server_round, replies)
        if self.config.retrain_steps == 0:
            return metrics
        optim: OptimConfig = self.config.optim
        retrained = train_steps(
            self.generator,
            self.discriminator,
            optim,
            self.metadata(sorted(replies), replies),
            self.config.retrain_steps,
            self.config.model.latent_dim,
            self.config.model.conditional,
        )
        return {**metrics, **{f"retrain_{key}": value for key, value in retrained.items()}}


@register(
    "bias-free-fedgan",
    config=BiasFreeFedGANConfig,
    family="gan",
    summary="Bias-Free FedGAN: FedGAN averaging, then server retraining on metadata drawn evenly from client generators.",
    presets={
        "smoke": {"rounds": 20, "clients": 10, "local_steps": 5, "data.partition": "shards"},
        "bias-free-fedgan-2021": {
            "rounds": 100,
            "clients": 10,
            "local_steps": 10,
            "data.partition": "shards",
            "data.labels_per_client": 2,
        },
    },
)
class BiasFreeFedGAN(FedAvgGANAlgorithm[BiasFreeFedGANConfig]):
    uploads = MappingProxyType({"g.": "generator-parameters", "d.": "discriminator-parameters"})
    weighted_mean_upload = False

    def make_server(self) -> BiasFreeServer:
        return BiasFreeServer(self.new_generator(), self.new_discriminator(), self.config, self.train.num_classes)
