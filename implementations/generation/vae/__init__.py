"""VAE-family reference implementations (FedAvg-VAE and its centralized baseline)."""
