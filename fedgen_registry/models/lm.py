"""A tiny causal LM from a ``transformers`` GPT-2 config, frozen, with trainable LoRA adapters from ``peft``.

The base stands in for the pre-trained model that every party already holds before federated tuning
starts: GPT-2 with random weights drawn from a seed all parties share, then pre-trained for a few
hundred steps on public text (:func:`~fedgen_registry.tasks.text.pretrain_base`; nothing is downloaded). Every party derives the
same weights, so the base never travels, and it stays frozen. Only the LoRA adapters
(``lora_A``/``lora_B`` of the attention and MLP projections, Hu et al. 2021) are trained and exchanged,
read and written with peft's own state-dict functions. Tuning adapters on a purely random base barely
moves perplexity (the frozen random embeddings cap it near the unigram level), hence the pre-training.
"""

from __future__ import annotations

import warnings

import torch
from peft import LoraConfig, PeftModel, get_peft_model, get_peft_model_state_dict, set_peft_model_state_dict
from pydantic import BaseModel, ConfigDict, Field
from transformers import GPT2Config, GPT2LMHeadModel

from fedgen_registry.federation.seeding import deterministic


class LoRALMConfig(BaseModel):
    """GPT-2 shape (2 layers, 64 dims by default) and the LoRA adapters on its projections."""

    model_config = ConfigDict(extra="forbid")

    layers: int = Field(2, ge=1)
    dims: int = Field(64, ge=8)
    heads: int = Field(4, ge=1)
    block_size: int = Field(64, ge=2, description="Context length in characters.")
    lora_r: int = Field(8, ge=1, description="Adapter rank.")
    lora_alpha: float = Field(16, gt=0, description="Adapter scale numerator (the update is alpha / r * B A).")
    lora_dropout: float = Field(0.0, ge=0, lt=1)
    target_modules: list[str] = Field(
        ["c_attn", "c_proj", "c_fc"], min_length=1, description="GPT-2 projections that get adapters."
    )
    pretrain_steps: int = Field(300, ge=0, description="Full-parameter steps on public text that make the base.")
    pretrain_lr: float = Field(3e-3, gt=0)
    pretrain_batch_size: int = Field(
        16, ge=1, description="Windows per pre-training step: the base does not depend on the tuning batch."
    )


def build_base(config: LoRALMConfig, vocab_size: int, seed: int) -> GPT2LMHeadModel:
    """GPT-2 with random weights drawn from ``seed`` (the same seed gives the same weights)."""
    gpt2 = GPT2Config(
        vocab_size=vocab_size,
        n_positions=config.block_size,
        n_embd=config.dims,
        n_layer=config.layers,
        n_head=config.heads,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=vocab_size - 1,
        eos_token_id=vocab_size - 1,
    )
    with torch.random.fork_rng(devices=[]), deterministic(threads=1):
        torch.manual_seed(seed)
        return GPT2LMHeadModel(gpt2)


def with_lora(base: GPT2LMHeadModel, config: LoRALMConfig) -> PeftModel:
    """Wrap ``base`` with fresh adapters (B = 0, so the wrapped model starts equal to the base); base frozen."""
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(config.target_modules),
        fan_in_fan_out=True,  # GPT-2's Conv1D stores weights transposed
        bias="none",
        task_type="CAUSAL_LM",
    )
    with warnings.catch_warnings():  # peft calls a transformers property deprecated in favour of a new name
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        return get_peft_model(base, lora)


def adapter_arrays(model: PeftModel) -> dict[str, torch.Tensor]:
    """The adapter weights only (peft's names), cloned: what a party sends."""
    return {name: value.detach().clone() for name, value in get_peft_model_state_dict(model).items()}


def load_adapter_arrays(model: PeftModel, arrays: dict[str, torch.Tensor]) -> None:
    """Load received adapter weights; every adapter tensor must be present and nothing else."""
    expected = set(get_peft_model_state_dict(model))
    if set(arrays) != expected:
        raise ValueError(f"adapter arrays differ from the model's: {sorted(set(arrays) ^ expected)[:4]}")
    set_peft_model_state_dict(model, dict(arrays))


def base_arrays(model: PeftModel) -> dict[str, torch.Tensor]:
    """The frozen base weights (everything that is not an adapter), for checks that they never change."""
    return {name: p.detach().clone() for name, p in model.named_parameters() if not p.requires_grad}
