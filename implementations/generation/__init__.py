"""The generation strand: federated generators by family (GAN, VAE, diffusion, tables, text)."""
