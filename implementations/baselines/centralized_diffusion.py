"""The centralized baseline that FedAvg-diffusion numbers are read against: the same UNet, steps and
evaluation on one client holding every row, with each preset's sample visits (see
:mod:`~fedgen_registry.tasks.centralized`)."""

from __future__ import annotations

from fedgen_registry.implementations.generation.diffusion.fedavg_diffusion import (
    PRESETS,
    FedAvgDiffusion,
    FedAvgDiffusionConfig,
)
from fedgen_registry.registry import register
from fedgen_registry.tasks.centralized import centralized_config, centralized_preset

CentralizedDiffusionConfig = centralized_config(FedAvgDiffusionConfig)


@register(
    "centralized-diffusion",
    config=CentralizedDiffusionConfig,
    family="diffusion",
    summary="Centralized diffusion baseline: the FedAvg-diffusion UNet and steps on all the data at one place.",
    presets={name: centralized_preset(FedAvgDiffusionConfig, preset) for name, preset in PRESETS.items()},
)
class CentralizedDiffusion(FedAvgDiffusion):
    """Same server and client logic as FedAvg-diffusion; only the config differs (one client)."""
