"""Mechanisms that wrap a strategy or a client's training, as Flower's DP wrappers and Opacus' ``make_private`` do.

- :mod:`.privacy`: DP-SGD (Opacus), client-level DP-FedAvg (dp-accounting), one accounting module, the ledger;
- :mod:`.crypto`: pairwise-mask secure aggregation, CKKS homomorphic aggregation (TenSEAL);
- :mod:`.robust`: Byzantine-robust aggregation (median, trimmed mean, Krum) in place of a strategy's mean.
"""
