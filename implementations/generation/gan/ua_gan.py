"""UA-GAN (Zhang, Qu, Chang, Liu, Metaxas and Chen, 2021): universal aggregation of the sites' discriminators.

What makes the paper that paper, and all this file holds: the server simulates one *centralised*
discriminator from the private ones by aggregating their **odds**. A site's optimal discriminator is
``D_j = p_j / (p_j + q)``, so its odds ``D_j / (1 - D_j)`` estimate ``p_j / q``; the target is the
mixture ``p = sum_j pi_j p_j`` with ``pi_j`` the sites' data shares, hence

    Phi(x) = sum_j pi_j D_j(x) / (1 - D_j(x)),    D_ua(x) = Phi(x) / (1 + Phi(x))

and the generator is trained against ``D_ua`` (non-saturating loss). In logits, ``logit D_ua =
logsumexp_j(logit_j + log pi_j)``, which is how it is computed (stable where a ``D_j`` is near 1).
Every site judges the same generated batch, so the odds combine per sample; sites train their
discriminators on the generated batch against their own rows and return only verdicts.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

import torch
from torch.nn import functional

from fedgen_registry.federation.protocol import Message
from fedgen_registry.registry import register
from fedgen_registry.strategies.central import CentralGANConfig, CentralGeneratorServer, DiscriminatorClient
from fedgen_registry.tasks.image_gan import ImageGANAlgorithm


def universal_logit(logits: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``logit D_ua`` per sample from the sites' logits (K, B) and mixture weights (K,) summing to 1."""
    return torch.logsumexp(logits + weights.log().unsqueeze(1), dim=0)


class UAGANServer(CentralGeneratorServer):
    """The generator against the simulated centralised discriminator; sites weigh by their share of the data."""

    def objective(self, logits: torch.Tensor, replies: Sequence[Message]) -> torch.Tensor:
        sizes = torch.tensor([float(m.config["num_examples"]) for m in replies], dtype=logits.dtype)
        combined = universal_logit(logits, sizes / sizes.sum())
        return functional.binary_cross_entropy_with_logits(combined, torch.ones_like(combined))


@register(
    "ua-gan",
    config=CentralGANConfig,
    family="gan",
    summary="UA-GAN: central generator trained against the odds-aggregated (universal) discriminator of the sites.",
    presets={
        "smoke": {"rounds": 200, "clients": 5, "data.partition": "shards", "data.labels_per_client": 2},
        "ua-gan-2021": {
            "rounds": 4000,
            "clients": 10,
            "data.partition": "shards",
            "data.labels_per_client": 1,
            "model.latent_dim": 128,
            "optim.batch_size": 256,
        },
    },
)
class UAGAN(ImageGANAlgorithm[CentralGANConfig]):
    uploads = MappingProxyType({"logits": "discriminator-outputs", "logit_grad": "gradients"})
    weighted_mean_upload = False

    def make_server(self) -> UAGANServer:
        return UAGANServer(self.new_generator(), self.config, self.train.num_classes)

    def make_client(self, client_id: int) -> DiscriminatorClient:
        return DiscriminatorClient(
            self.client_data(client_id), self.new_discriminator(), self.config.optim, self.conditional
        )
