"""The centralized baseline that FedAvg-VAE numbers are read against: the same VAE, steps and evaluation
on one client holding every row, with each preset's sample visits (see
:mod:`~fedgen_registry.tasks.centralized`)."""

from __future__ import annotations

from fedgen_registry.implementations.generation.vae.fedavg_vae import PRESETS, FedAvgVAE, FedAvgVAEConfig
from fedgen_registry.registry import register
from fedgen_registry.tasks.centralized import centralized_config, centralized_preset

CentralizedVAEConfig = centralized_config(FedAvgVAEConfig)


@register(
    "centralized-vae",
    config=CentralizedVAEConfig,
    family="vae",
    summary="Centralized VAE baseline: the FedAvg-VAE model and steps on all the data at one place.",
    presets={name: centralized_preset(FedAvgVAEConfig, preset) for name, preset in PRESETS.items()},
)
class CentralizedVAE(FedAvgVAE):
    """Same server and client logic as FedAvg-VAE; only the config differs (one client)."""
