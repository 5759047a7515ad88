"""The centralized gan baseline: see :mod:`fedgen_registry.implementations.baselines` for what a twin is.

One module per family, so that asking for one twin imports only its own family's libraries.
"""

from __future__ import annotations

from fedgen_registry.catalog.claims import meets_targets
from fedgen_registry.registry import register
from fedgen_registry.strategies.gan import FEDAVG_GAN_QUALITY, FEDAVG_GAN_SMOKE, FedAvgGANAlgorithm, FedAvgGANConfig
from fedgen_registry.tasks.centralized import centralized_registration


@register(
    "centralized-gan",
    family="gan",
    summary="Centralized GAN baseline: the FedAvg-GAN model and steps on all the data at one place.",
    **centralized_registration(FedAvgGANConfig, {"smoke": FEDAVG_GAN_SMOKE, "quality": FEDAVG_GAN_QUALITY}),
    claim=meets_targets(
        "The stable GAN recipe (spectral norm, hinge loss, Adam(0, 0.9), generator EMA) trained on all the digits "
        "reaches KID <= 0.02 and recall >= 0.8 without copying training rows.",
        "centralized-gan",
    ),
)
class CentralizedGAN(FedAvgGANAlgorithm[FedAvgGANConfig]):
    """Same server and client logic as FedAvg-GAN; only the config differs (one client)."""
