"""FedAvg of LoRA adapters on a frozen shared language model: the family algorithm of federated LLM tuning.

Every party holds the same frozen base model; each round the server sends the global LoRA adapters to
the sampled clients, each client loads them, runs ``local_steps`` AdamW steps on its own text (only
the adapters have gradients; with ``optim.schedule=cosine`` the rate of round r's steps is read off one
curve over all ``rounds x local_steps``) and returns its adapters; the server is
:class:`~fedgen_registry.strategies.fedavg.FedAvg` of the adapters alone (:class:`Adapters`), weighted
by the clients' sentence counts. Base weights never appear in a message or a checkpoint. The config
and smoke preset live here so that the federated algorithm and its centralized twin share them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import torch
from peft import PeftModel
from pydantic import Field

from fedgen_registry.federation.protocol import Client, Message, Server
from fedgen_registry.models.lm import adapter_arrays, load_adapter_arrays
from fedgen_registry.objectives.lm import LMOptimConfig, TokenStream, train_steps
from fedgen_registry.strategies.fedavg import FedAvg, Network
from fedgen_registry.tasks.text import LoRALMAlgorithm, LoRALMRunConfig

TRAIN = "train.fedavg_lora"


@dataclass(frozen=True)
class Adapters(Network):
    """The LoRA adapters of a frozen model as a FedAvg part: only they travel, under peft's names."""

    def arrays(self) -> dict[str, torch.Tensor]:
        return adapter_arrays(self.model)

    def load(self, arrays: Mapping[str, torch.Tensor]) -> None:
        load_adapter_arrays(self.model, dict(arrays))

    @property
    def model(self) -> PeftModel:
        if not isinstance(self.module, PeftModel):
            raise TypeError(f"adapters need a peft model, not {type(self.module).__name__}")
        return self.module


class FedAvgLMConfig(LoRALMRunConfig):
    local_steps: int = Field(10, ge=1, description="AdamW steps per client per round.")


FEDAVG_LM_SMOKE = {
    "rounds": 10,
    "clients": 3,
    "local_steps": 8,
    "data.partition": "dirichlet",
    "data.alpha": 0.5,
    "model.block_size": 32,
    "model.pretrain_steps": 120,
    "optim.lr": 1e-2,
}
"""FedAvg-LM's smoke preset, which its centralized twin scales to one client."""

FEDAVG_LM_QUALITY = {
    "rounds": 40,
    "clients": 10,
    "clients_per_round": 2,
    "local_steps": 20,
    "data.partition": "iid",
    "model.block_size": 32,
    "model.pretrain_steps": 600,
    "model.lora_r": 16,
    "optim.lr": 1e-2,
    "optim.schedule": "cosine",
}
"""FedAvg-LM's quality preset: 10 IID clients, 2 a round, 40 rounds of 20 steps on one cosine-decayed rate;
its twin takes 40 rounds of 40 steps, the same 25,600 windows (batches of 16, drawn from the clients' token
streams, not LocalData.batch, so the sample meter counts none). A longer-trained base (600 steps) and
rank-16 adapters lower both runs' perplexity, and the decay ends them on small steps; 1,600 steps keep the
centralized run near a minute on two cores."""


class FedAvgLMClient(Client):
    """Stateless between rounds: its adapters are overwritten by every message; its base never changes."""

    def __init__(
        self,
        model: PeftModel,
        stream: TokenStream,
        size: int,
        local_steps: int,
        rounds: int,
        block_size: int,
        optim: LMOptimConfig,
    ) -> None:
        self.model, self.stream, self.size = model, stream, size
        self.local_steps, self.rounds, self.block_size, self.optim = local_steps, rounds, block_size, optim

    def handle(self, message: Message) -> Message:
        if message.message_type != TRAIN:
            raise ValueError(f"a FedAvg-LM client does not handle {message.message_type!r}")
        load_adapter_arrays(self.model, dict(message.arrays))
        loss = train_steps(
            self.model,
            self.stream,
            self.local_steps,
            self.block_size,
            self.optim,
            first_step=(self.round_of(message) - 1) * self.local_steps,
            run_steps=self.rounds * self.local_steps,
        )
        return Message(TRAIN, adapter_arrays(self.model), {"num_examples": self.size, "train_loss": loss})

    @staticmethod
    def round_of(message: Message) -> int:
        """The server's round (from 1, as FedAvg sends it), which places this local run on the lr schedule."""
        server_round = message.config.get("round")
        if not isinstance(server_round, int) or server_round < 1:
            raise ValueError(f"a FedAvg-LM training message carries its round from 1, not {server_round!r}")
        return server_round


class FedAvgLMAlgorithm(LoRALMAlgorithm[FedAvgLMConfig]):
    """The LoRA task trained by FedAvg of the adapters (sent unprefixed, kept as ``adapters``)."""

    uploads = MappingProxyType({"base_model.": "partial-parameters"})
    weighted_mean_upload = True

    def make_server(self) -> FedAvg:
        parts = {"adapters": (Adapters(self.new_model()), "")}
        return FedAvg(parts, self.config.clients_per_round, reported=("train_loss",), message_type=TRAIN)

    def make_client(self, client_id: int) -> FedAvgLMClient:
        config = self.config
        return FedAvgLMClient(
            self.new_model(),
            self.client_stream(client_id),
            self.client_size(client_id),
            config.local_steps,
            config.rounds,
            config.model.block_size,
            config.optim,
        )

    def finish(self, server: Server) -> dict[str, Any]:
        adapters = server.parts.get("adapters") if isinstance(server, FedAvg) else None
        if not isinstance(adapters, Adapters):
            raise TypeError(f"{type(server).__name__} holds no adapters to evaluate")
        return self.judge(adapters.model)
