"""Privacy mechanisms that attach to existing models, optimizers and updates, as Opacus's ``make_private`` does.

- :mod:`.dp_sgd`: record-level DP-SGD inside one client (Opacus, one ``PrivacyEngine`` and RDP accountant
  per client);
- :mod:`.dp_fedavg`: client-level DP-FedAvg (McMahan et al. 2018): clip each client's update, sum, add
  Gaussian noise, divide by the expected number of clients, account with ``dp-accounting``;
- :mod:`.secagg`: secure aggregation by pairwise additive masks over a fixed-point ring (a simplified,
  honest-but-curious version of Bonawitz et al. 2017), with drop-out recovery;
- :mod:`.ledger`: the ``privacy.json`` every run writes, ``mechanism: "none"`` when nothing is private.

Only :mod:`.ledger` is light (pydantic); the others import torch, Opacus, dp-accounting or cryptography.
"""
