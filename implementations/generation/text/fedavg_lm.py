"""FedAvg-LM: federated parameter-efficient fine-tuning, FedAvg over LoRA adapters of a frozen shared LM.

The family algorithm of federated LLM tuning (FedIT/Shepherd, OpenFedLLM, FedLLM-Bench, FS-LLM and
FATE-LLM all run it): every party holds the same frozen base model; each round the server sends the
global LoRA adapters to the sampled clients, each client loads them, runs ``local_steps`` AdamW steps
on its own text (only the adapters have gradients) and returns its adapters; the server replaces
the global adapters by their mean weighted by the clients' sentence counts. Base weights never
appear in a message. The algorithm is :mod:`fedgen_registry.strategies.text`'s; this file holds the
papers' settings.
"""

from __future__ import annotations

from fedgen_registry.catalog.claims import Check, Claim, ClaimRun
from fedgen_registry.registry import register
from fedgen_registry.strategies.text import FEDAVG_LM_QUALITY, FEDAVG_LM_SMOKE, FedAvgLMAlgorithm, FedAvgLMConfig

ATTENTION = ["c_attn"]  # GPT-2 fuses the query/key/value projections the papers adapt (q_proj, query_key_value)

PAPERS = {
    # FederatedGPT-Shepherd main.py defaults: 50 rounds, 10 clients, 10% per round, 10 local epochs
    # (here ~17 steps of 64 windows), LoRA r16 alpha16 dropout 0.05 on q_proj; client_data_allocation.py
    # splits each category by Dirichlet(0.5)
    "fedit-shepherd-2023": {
        "rounds": 50,
        "clients": 10,
        "clients_per_round": 1,
        "local_steps": 17,
        "optim.batch_size": 64,
        "model.lora_r": 16,
        "model.lora_alpha": 16,
        "model.lora_dropout": 0.05,
        "model.target_modules": ATTENTION,
        "data.partition": "dirichlet",
        "data.alpha": 0.5,
    },
    # OpenFedLLM training_scripts/run_sft.sh: 200 rounds, 20 clients, 2 per round, 10 steps of batch 16,
    # LoRA r32 alpha64
    "openfedllm-2024": {
        "rounds": 200,
        "clients": 20,
        "clients_per_round": 2,
        "local_steps": 10,
        "optim.batch_size": 16,
        "model.lora_r": 32,
        "model.lora_alpha": 64,
        "model.target_modules": ATTENTION,
    },
    # FedLLM-Bench training_scripts/FedChatbotIT/all.sh: 100 rounds, 237 clients, 10 per round,
    # 5 steps of 4 x 4 accumulated, LoRA r16 alpha32; users' natural split approximated by size skew
    "fedllm-bench-2024": {
        "rounds": 100,
        "clients": 237,
        "clients_per_round": 10,
        "local_steps": 5,
        "optim.batch_size": 16,
        "model.lora_r": 16,
        "model.lora_alpha": 32,
        "model.target_modules": ATTENTION,
        "data.partition": "quantity",
        "data.alpha": 1.0,
    },
    # FS-LLM baseline/exp_yaml/alpaca/alpaca_federate.yaml: 3 clients, 500 rounds, IID, 30 local steps of
    # batch 1, LoRA r8 alpha16 dropout 0.05
    "federatedscope-llm-2023": {
        "rounds": 500,
        "clients": 3,
        "local_steps": 30,
        "optim.batch_size": 1,
        "model.lora_r": 8,
        "model.lora_alpha": 16,
        "model.lora_dropout": 0.05,
        "model.target_modules": ATTENTION,
    },
    # FATE-LLM examples/pellm/bloom_lora_config.yaml: guest and host, 1 epoch (one aggregation; here ~140
    # steps of batch 4), LoRA r8 alpha32 dropout 0.1 on query_key_value
    "fate-llm-2023": {
        "rounds": 1,
        "clients": 2,
        "local_steps": 140,
        "optim.batch_size": 4,
        "model.lora_r": 8,
        "model.lora_alpha": 32,
        "model.lora_dropout": 0.1,
        "model.target_modules": ATTENTION,
    },
    # cross-device shape (many clients, few per round, short local runs); the paper's numbers were not seen
    "scaling-lm-cross-device-fl-2022": {"rounds": 100, "clients": 100, "clients_per_round": 10, "local_steps": 5},
}


@register(
    "fedavg-lm",
    config=FedAvgLMConfig,
    family="language-model",
    summary="FedAvg of LoRA adapters on a frozen tiny GPT-2 (character level, generated topic corpus).",
    presets={"smoke": FEDAVG_LM_SMOKE, "quality": FEDAVG_LM_QUALITY, **PAPERS},
    claim=Claim(
        statement="FedAvg of LoRA adapters over 10 IID clients (2 a round) comes within 10% of the held-out "
        "perplexity of the same adapters tuned on all the text at one place, at the same sample budget.",
        runs={
            "fedavg-lm": ClaimRun(implementation="fedavg-lm"),
            "centralized-lm": ClaimRun(implementation="centralized-lm"),
        },
        checks=[Check(metric="perplexity", run="fedavg-lm", op="<=", against="centralized-lm", factor=1.1)],
        tolerance={"perplexity": 0.05},
        note="The family's claim that federated tuning approaches centralized tuning, on a character-level tiny "
        "GPT-2 and the generated topic corpus; under Dirichlet(0.1) topic skew the gap is far wider.",
    ),
)
class FedAvgLM(FedAvgLMAlgorithm):
    """FedAvg-LM as the strategy defines it; nothing paper-specific to add."""
