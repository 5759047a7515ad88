"""Losses and local training steps, one module per family: GAN, WGAN-GP, VAE, diffusion, LM.

An objective takes networks from :mod:`fedgen_registry.models` and rows from
:mod:`fedgen_registry.data`; it knows nothing of messages or servers.
"""
