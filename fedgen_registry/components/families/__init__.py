"""Model families beyond the MLP GAN: convolutional GANs, the WGAN-GP objective, VAEs and DDPM/DDIM.

Each family module holds the networks and the objective of one kind of generative model, so that
federated algorithms (FedAvg and the papers' own protocols) pick a family instead of re-writing it.
:mod:`~fedgen_registry.components.families.federated` runs any family under FedAvg;
:mod:`~fedgen_registry.components.families.centralized` turns a federated config into its centralized
baseline with the same sample visits.
"""
