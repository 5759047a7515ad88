"""Reusable server + client pairs, in the spirit of Flower's strategies.

- :mod:`.fedavg`: FedAvg, written once (weighted mean of any named networks, with a pluggable weight rule);
- :mod:`.gan`: FedAvg of a GAN pair and its client, the GAN clients that own a pair, mixtures of device
  generators, staleness weights, device-edge-cloud hierarchies;
- :mod:`.central`: a central generator trained from the clients' discriminator feedback;
- :mod:`.family`, :mod:`.tabular`, :mod:`.text`: FedAvg on the image-family, table and LoRA-LM tasks
  (the family algorithms, with the configs and presets their centralized twins share);
- :mod:`.translation`: sites that train a local CycleGAN and share only its generators.

An implementation subclasses one of these or wraps it in a :mod:`fedgen_registry.mechanisms` wrapper.
"""
