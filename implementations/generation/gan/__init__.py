"""GAN-family reference implementations (FedAvg-GAN, MD-GAN, the centralized baseline)."""
