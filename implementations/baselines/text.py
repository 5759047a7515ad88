"""The centralized text baseline: see :mod:`fedgen_registry.implementations.baselines` for what a twin is.

One module per family, so that asking for one twin imports only its own family's libraries.
"""

from __future__ import annotations

from fedgen_registry.catalog.claims import Check, Claim, ClaimRun
from fedgen_registry.registry import register
from fedgen_registry.strategies.text import FEDAVG_LM_QUALITY, FEDAVG_LM_SMOKE, FedAvgLMAlgorithm, FedAvgLMConfig
from fedgen_registry.tasks.centralized import centralized_registration


@register(
    "centralized-lm",
    family="language-model",
    summary="Centralized LoRA baseline: the FedAvg-LM frozen base, adapters and steps on all the text at one place.",
    **centralized_registration(FedAvgLMConfig, {"smoke": FEDAVG_LM_SMOKE, "quality": FEDAVG_LM_QUALITY}),
    claim=Claim(
        statement="LoRA adapters on the frozen base, tuned on all the text, reach a held-out perplexity at most "
        "0.8 x that of the best count model (an add-one 5-gram of the same text).",
        runs={"centralized": ClaimRun(implementation="centralized-lm")},
        checks=[
            Check(
                metric="perplexity",
                run="centralized",
                op="<=",
                against="centralized",
                against_metric="fivegram_perplexity",
                factor=0.8,
            )
        ],
        tolerance={"perplexity": 0.05},
    ),
)
class CentralizedLM(FedAvgLMAlgorithm):
    """Same server and client logic as FedAvg-LM; only the config differs (one client)."""
