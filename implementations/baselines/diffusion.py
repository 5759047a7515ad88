"""The centralized diffusion baseline: see :mod:`fedgen_registry.implementations.baselines` for what a twin is.

One module per family, so that asking for one twin imports only its own family's libraries.
"""

from __future__ import annotations

from fedgen_registry.registry import register
from fedgen_registry.strategies.family import DIFFUSION_PRESETS, FedAvgDiffusionAlgorithm, FedAvgDiffusionConfig
from fedgen_registry.tasks.centralized import centralized_registration


@register(
    "centralized-diffusion",
    family="diffusion",
    summary="Centralized diffusion baseline: the FedAvg-diffusion UNet and steps on all the data at one place.",
    **centralized_registration(FedAvgDiffusionConfig, DIFFUSION_PRESETS),
)
class CentralizedDiffusion(FedAvgDiffusionAlgorithm):
    """Same server and client logic as FedAvg-diffusion; only the config differs (one client)."""
