"""Reusable server + client pairs, in the spirit of Flower's strategies.

- :mod:`.fedavg`: FedAvg, written once (weighted mean of any named networks, with a pluggable weight rule);
- :mod:`.central`: a central generator trained from the clients' discriminator feedback;
- :mod:`.gan`: the GAN clients that own a pair, mixtures of device generators, staleness weights;
- :mod:`.tiered`: device-edge-cloud hierarchies.

An implementation subclasses one of these or wraps it in a :mod:`fedgen_registry.mechanisms` wrapper.
"""
