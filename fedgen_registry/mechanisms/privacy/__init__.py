"""Privacy mechanisms that attach to existing models, optimizers and updates, as Opacus's ``make_private`` does.

- :mod:`.dp_sgd`: record-level DP-SGD inside one client (Opacus, one ``PrivacyEngine`` and RDP accountant
  per client);
- :mod:`.dp_fedavg`: client-level DP-FedAvg (McMahan et al. 2018) as :class:`~.dp_fedavg.DPFedAvg`, a wrapper
  around a FedAvg server: clip each client's update, sum, add Gaussian noise, divide by the expected number of
  clients, and hand the inner server only the noised result;
- :mod:`.accounting`: the one place an epsilon is computed (``dp-accounting``'s RDP accountant, PLD on request);
- :mod:`.ledger`: the ``privacy.json`` every run writes, ``mechanism: "none"`` when nothing is private.

Only :mod:`.ledger` is light (pydantic); the others import torch, Opacus or dp-accounting.
Secure aggregation lives in :mod:`fedgen_registry.mechanisms.crypto`.
"""
