"""FedAvg of a classifier: the baseline every generative fix for non-IID data is read against.

The server is :class:`~fedgen_registry.strategies.fedavg.FedAvg` of the one network (``model.``); each
client runs ``local_steps`` Adam steps of cross-entropy on its own rows with :class:`FamilyClient`, the
same client as the generative families' FedAvg, since only the objective differs.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from fedgen_registry.federation.protocol import Server
from fedgen_registry.strategies.family import PREFIX, FamilyClient
from fedgen_registry.strategies.fedavg import FedAvg, Network
from fedgen_registry.tasks.classification import ClassificationConfig, ClassificationTask

FEDAVG_CLASSIFIER_SMOKE = {"rounds": 20, "clients": 10, "local_steps": 10}
"""The smoke preset of FedAvg of a classifier (IID digits), which its centralized twin scales to one client."""
FEDAVG_CLASSIFIER_QUALITY = {"rounds": 50, "clients": 10, "local_steps": 10}
"""FedAvg of a classifier run to convergence on the digits (every client every round, 500 local steps each)."""


class FedAvgClassifierAlgorithm(ClassificationTask[ClassificationConfig]):
    """The classification task trained by FedAvg of the classifier (McMahan et al. 2017)."""

    uploads = MappingProxyType({"model.": "model-parameters"})
    weighted_mean_upload = True

    def make_server(self) -> FedAvg:
        return FedAvg({"model": (Network(self.new_model()), PREFIX)}, self.config.clients_per_round)

    def make_client(self, client_id: int) -> FamilyClient:
        data = self.client_data(client_id)
        return FamilyClient(data, self.new_model(), self.objective, self.config.optim, self.config.local_steps)

    def finish(self, server: Server) -> dict[str, Any]:
        if not isinstance(server, FedAvg):
            raise TypeError(f"{type(server).__name__} holds no global classifier to evaluate")
        return self.judge(server.module("model"))
