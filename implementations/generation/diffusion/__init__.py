"""Diffusion-family reference implementations (FedAvg-diffusion and its centralized baseline)."""
