"""The heterogeneity strand: federated classifiers and the generative fixes for their non-IID clients."""
