"""The centralized baseline that federated GAN numbers are read against.

It is FedAvg-GAN with a single client that holds every training row: averaging one model is the
identity, so this is plain GAN training through the same model, steps, optimizer recipe, engine,
checkpoints and evaluation. Give it ``local_steps`` = (clients sampled per round) x (their
``local_steps``) and the same ``rounds`` to match a federated run's sample visits; the presets do.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from fedgen_registry.implementations.generation.gan.fedavg_gan import SMOKE, FedAvgGAN, FedAvgGANConfig
from fedgen_registry.registry import register


class CentralizedGANConfig(FedAvgGANConfig):
    clients: Literal[1] = Field(1, description="One client holding all the data: centralized training.")


@register(
    "centralized-gan",
    config=CentralizedGANConfig,
    family="gan",
    summary="Centralized GAN baseline: the FedAvg-GAN model and steps on all the data at one place.",
    presets={"smoke": {"rounds": SMOKE["rounds"], "local_steps": SMOKE["clients"] * SMOKE["local_steps"]}},
)
class CentralizedGAN(FedAvgGAN):
    """Same server and client logic as FedAvg-GAN; only the config differs (one client)."""
