"""Networks only: MLP and convolutional GANs, paired translators, CTGAN-style tables, the LoRA LM.

No losses and no training loops here (those are :mod:`fedgen_registry.objectives`), so a network can
be reused by any objective.
"""
