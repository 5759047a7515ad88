"""The centralized tabular baseline: see :mod:`fedgen_registry.implementations.baselines` for what a twin is.

One module per family, so that asking for one twin imports only its own family's libraries.
"""

from __future__ import annotations

from fedgen_registry.registry import register
from fedgen_registry.strategies.tabular import (
    FEDAVG_TABULAR_GAN_QUALITY,
    FEDAVG_TABULAR_GAN_SMOKE,
    FedAvgTabularGANAlgorithm,
    FedAvgTabularGANConfig,
)
from fedgen_registry.tasks.centralized import centralized_registration


@register(
    "centralized-tabular-gan",
    family="tabular-gan",
    summary="Centralized CTGAN baseline: the FedAvg-Tabular-GAN networks and steps on all the rows at one place.",
    **centralized_registration(
        FedAvgTabularGANConfig, {"smoke": FEDAVG_TABULAR_GAN_SMOKE, "quality": FEDAVG_TABULAR_GAN_QUALITY}
    ),
)
class CentralizedTabularGAN(FedAvgTabularGANAlgorithm):
    """Same server and client logic as FedAvg-Tabular-GAN; only the config differs (one client)."""
