"""The centralized baseline that federated tabular-GAN numbers are read against.

It is FedAvg-Tabular-GAN with a single client that holds every training row: averaging one model is
the identity, and the encoding is fitted from that one client's summaries, so this is plain CTGAN
training through the same networks, steps, optimizer recipe, engine and evaluation. Give it
``local_steps`` = (clients sampled per round) x (their ``local_steps``) and the same ``rounds`` to match
a federated run's sample visits; the smoke preset does.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from fedgen_registry.implementations.generation.tabular.fedavg_tabular_gan import (
    SMOKE,
    FedAvgTabularGAN,
    FedAvgTabularGANConfig,
)
from fedgen_registry.registry import register


class CentralizedTabularGANConfig(FedAvgTabularGANConfig):
    clients: Literal[1] = Field(1, description="One client holding all the rows: centralized training.")


@register(
    "centralized-tabular-gan",
    config=CentralizedTabularGANConfig,
    family="tabular-gan",
    summary="Centralized CTGAN baseline: the FedAvg-Tabular-GAN networks and steps on all the rows at one place.",
    presets={
        "smoke": {
            **{k: v for k, v in SMOKE.items() if k != "clients"},
            "local_steps": SMOKE["clients"] * SMOKE["local_steps"],
        }
    },
)
class CentralizedTabularGAN(FedAvgTabularGAN):
    """Same server and client logic as FedAvg-Tabular-GAN; only the config differs (one client)."""
