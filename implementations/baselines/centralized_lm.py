"""The centralized baseline that federated LoRA language-model numbers are read against.

It is FedAvg-LM with a single client that holds every training sentence: averaging one set of adapters
is the identity, so this is plain LoRA fine-tuning of the same frozen base, with the same steps,
optimizer, engine and evaluation. Give it ``local_steps`` = (clients sampled per round) x (their
``local_steps``) and the same ``rounds`` to match a federated run's sample visits; the smoke preset does.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from fedgen_registry.implementations.generation.text.fedavg_lm import SMOKE, FedAvgLM, FedAvgLMConfig
from fedgen_registry.registry import register


class CentralizedLMConfig(FedAvgLMConfig):
    clients: Literal[1] = Field(1, description="One client holding all the sentences: centralized training.")


@register(
    "centralized-lm",
    config=CentralizedLMConfig,
    family="language-model",
    summary="Centralized LoRA baseline: the FedAvg-LM frozen base, adapters and steps on all the text at one place.",
    presets={
        "smoke": {
            **{k: v for k, v in SMOKE.items() if not k.startswith("data.") and k != "clients"},
            "local_steps": SMOKE["clients"] * SMOKE["local_steps"],
        }
    },
)
class CentralizedLM(FedAvgLM):
    """Same server and client logic as FedAvg-LM; only the config differs (one client)."""
