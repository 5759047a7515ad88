"""The centralized diffusion baseline: see :mod:`fedgen_registry.implementations.baselines` for what a twin is.

One module per family, so that asking for one twin imports only its own family's libraries.
"""

from __future__ import annotations

from fedgen_registry.catalog.claims import meets_targets
from fedgen_registry.registry import register
from fedgen_registry.strategies.family import DIFFUSION_PRESETS, FedAvgDiffusionAlgorithm, FedAvgDiffusionConfig
from fedgen_registry.tasks.centralized import centralized_registration


@register(
    "centralized-diffusion",
    family="diffusion",
    summary="Centralized diffusion baseline: the FedAvg-diffusion UNet and steps on all the data at one place.",
    **centralized_registration(FedAvgDiffusionConfig, DIFFUSION_PRESETS),
    claim=meets_targets(
        "The diffusion recipe (MLP denoiser, v-prediction, cosine noise schedule, EMA of the weights, DDIM sampling) trained on all the digits reaches KID <= 0.02 and recall >= 0.8 without copying training rows.",
        "centralized-diffusion",
    ),
)
class CentralizedDiffusion(FedAvgDiffusionAlgorithm):
    """Same server and client logic as FedAvg-diffusion; only the config differs (one client)."""
