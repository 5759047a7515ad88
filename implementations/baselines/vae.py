"""The centralized vae baseline: see :mod:`fedgen_registry.implementations.baselines` for what a twin is.

One module per family, so that asking for one twin imports only its own family's libraries.
"""

from __future__ import annotations

from fedgen_registry.catalog.claims import meets_targets
from fedgen_registry.registry import register
from fedgen_registry.strategies.family import VAE_PRESETS, FedAvgVAEAlgorithm, FedAvgVAEConfig
from fedgen_registry.tasks.centralized import centralized_registration


@register(
    "centralized-vae",
    family="vae",
    summary="Centralized VAE baseline: the FedAvg-VAE model and steps on all the data at one place.",
    **centralized_registration(FedAvgVAEConfig, VAE_PRESETS),
    claim=meets_targets(
        "The VAE recipe (MLP encoder and decoder, Gaussian decoder, cosine rate, server EMA of the weights) trained on all the digits reaches KID <= 0.02 and recall >= 0.8 without copying training rows.",
        "centralized-vae",
    ),
)
class CentralizedVAE(FedAvgVAEAlgorithm):
    """Same server and client logic as FedAvg-VAE; only the config differs (one client)."""
