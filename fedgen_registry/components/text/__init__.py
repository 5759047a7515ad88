"""Text building blocks: a generated corpus and its tokenizer, a tiny causal LM with LoRA adapters, LM training.

transformers, peft and torch are imported by the modules below, never here.
"""
