"""Tabular-GAN reference implementations (FedAvg of CTGAN networks, the centralized baseline)."""
