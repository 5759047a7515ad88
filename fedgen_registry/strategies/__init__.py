"""Reusable server + client pairs, in the spirit of Flower's strategies.

- :mod:`.fedavg`: FedAvg, written once (weighted mean of named parts under prefixes, a pluggable weight rule);
- :mod:`.gan`: FedAvg-GAN's client and algorithm, label profiles, generator mixtures, staleness weights and
  device-edge-cloud tiers;
- :mod:`.central`: a central generator trained from the clients' discriminator feedback;
- :mod:`.family`, :mod:`.tabular`, :mod:`.text`, :mod:`.translation`: FedAvg of the VAE and diffusion
  families, the CTGAN-style table GAN, LoRA adapters, and paired translators.

An implementation subclasses one of these, or wraps it in a :mod:`fedgen_registry.mechanisms` wrapper.
"""
