"""Mechanism tests of the federated-GAN reference implementations (one file per implementation)."""
