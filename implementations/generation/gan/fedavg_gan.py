"""FedAvg-GAN: every client trains a local generator and discriminator; the server averages both.

The family algorithm of federated GANs (FedAvg of McMahan et al. 2017 applied to G and D, as in the
FL-GAN baseline of MD-GAN and the study of Fan & Liu 2020). Each round the sampled clients start from
the global G and D, run ``local_steps`` alternating updates on their own rows with fresh Adam
optimizers, and return both networks; the server replaces the global networks by the mean weighted
by client data size. The strategy is :class:`~fedgen_registry.strategies.gan.FedAvgGANAlgorithm`; this
file registers it with its presets.
"""

from __future__ import annotations

from fedgen_registry.catalog.claims import ClaimRun, parity_claim
from fedgen_registry.registry import register
from fedgen_registry.strategies.gan import FEDAVG_GAN_QUALITY, FEDAVG_GAN_SMOKE, FedAvgGANAlgorithm, FedAvgGANConfig


@register(
    "fedavg-gan",
    config=FedAvgGANConfig,
    family="gan",
    summary="FedAvg of generator and discriminator, weighted by client data size (MLP GAN on 8x8 digits).",
    presets={
        "smoke": FEDAVG_GAN_SMOKE,
        "quality": FEDAVG_GAN_QUALITY,
        "fed-gal-fan-liu-2020": {
            "rounds": 100,
            "clients": 10,
            "local_steps": 10,
            "data.partition": "dirichlet",
            "data.alpha": 0.5,
        },
    },
    claim=parity_claim(
        statement="FedAvg of generator and discriminator over 10 IID clients (2 a round) comes within 0.02 KID and "
        "0.8x recall of the same GAN trained on all the rows at one place, at the same sample budget.",
        runs={
            "fedavg-gan": ClaimRun(implementation="fedavg-gan"),
            "centralized-gan": ClaimRun(implementation="centralized-gan"),
        },
        note="FedAvg's claim (McMahan et al. 2017) that averaging approaches centralized training, here for a GAN "
        "on the 8x8 digits; the label-skewed case is in the GAN comparison page.",
    ),
)
class FedAvgGAN(FedAvgGANAlgorithm[FedAvgGANConfig]):
    """FedAvg-GAN as the strategy defines it; nothing paper-specific to add."""
