"""F2U / F2A (Yonetani, Takahashi, Hashimoto and Ushiku, 2019): fool the most forgiving discriminator.

What makes the paper that paper, and all this file holds: each client trains its own discriminator on
its own classes; the generator is updated, **per generated sample**, against the client discriminator
that finds that sample most real (Forgiver-First Update, ``D_F2U(x) = max_j D_j(x)``). A sample that
looks like client j's classes is judged by client j only, so no client pushes the generator away from
the others' classes, and the optimum covers the union of all clients' classes. The relaxed
Forgiver-First Aggregation weighs the clients by a softmax of their scores, ``D_F2A(x) = sum_j
softmax_j(lambda D_j(x)) D_j(x)``, which tends to F2U as ``lambda`` grows.
Every client judges the same generated batch; only verdicts (logits and their sample gradients) travel.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType
from typing import Literal

import torch
from pydantic import Field
from torch.nn import functional

from fedgen_registry.federation.protocol import Message
from fedgen_registry.registry import register
from fedgen_registry.strategies.central import CentralGANConfig, CentralGeneratorServer, DiscriminatorClient
from fedgen_registry.tasks.image_gan import ImageGANAlgorithm


class F2UConfig(CentralGANConfig):
    aggregation: Literal["f2u", "f2a"] = Field("f2u", description="Most forgiving client (f2u) or softmax mix (f2a).")
    forgiveness: float = Field(1.0, gt=0, description="F2A's lambda: sharpness of the softmax over client scores.")


def f2a_score(logits: torch.Tensor, forgiveness: float) -> torch.Tensor:
    """F2A's probability that each sample is real, from the clients' logits (K, B)."""
    scores = torch.sigmoid(logits)
    return (torch.softmax(forgiveness * scores, dim=0) * scores).sum(dim=0)


class F2UServer(CentralGeneratorServer):
    def objective(self, logits: torch.Tensor, replies: Sequence[Message]) -> torch.Tensor:
        if self.config.aggregation == "f2u":  # in logits: -log sigmoid(max_j logit_j), stable for confident clients
            best = logits.max(dim=0).values
            return functional.binary_cross_entropy_with_logits(best, torch.ones_like(best))
        score = f2a_score(logits, self.config.forgiveness)
        return -torch.log(score.clamp_min(1e-12)).mean()


@register(
    "f2u",
    config=F2UConfig,
    family="gan",
    summary="F2U/F2A: central generator updated against the most forgiving client discriminator per sample.",
    presets={
        "smoke": {"rounds": 200, "clients": 5, "data.partition": "shards", "data.labels_per_client": 2},
        "f2u-yonetani-2019": {
            "rounds": 4000,
            "clients": 10,
            "data.partition": "shards",
            "data.labels_per_client": 1,
            "aggregation": "f2u",
        },
    },
)
class F2U(ImageGANAlgorithm[F2UConfig]):
    uploads = MappingProxyType({"logits": "discriminator-outputs", "logit_grad": "gradients"})
    weighted_mean_upload = False

    def make_server(self) -> F2UServer:
        return F2UServer(self.new_generator(), self.config, self.train.num_classes)

    def make_client(self, client_id: int) -> DiscriminatorClient:
        return DiscriminatorClient(
            self.client_data(client_id), self.new_discriminator(), self.config.optim, self.conditional
        )
