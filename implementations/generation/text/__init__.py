"""Language-model reference implementations (FedAvg of LoRA adapters, the centralized baseline)."""
