"""A moving average of a global network's weights, kept by the server and judged in its place.

Averaging the weights over the last updates smooths the noise of the last ones: the EMA generator of the
stable GAN recipes, the EMA denoiser of diffusion models (Ho et al. 2020 sample from one). Federated, the
server sees one global network per round, so the average is updated once per round, after the
aggregate; ``decay`` is therefore per round. The average starts at the initial network (the first update
moves it by ``1 - decay``), covers parameters and floating-point buffers alike (batch-norm statistics),
copies the integer buffers, and travels with the server's state so a resumed run keeps it bit for bit.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from fedgen_registry.federation.protocol import Message, State
from fedgen_registry.strategies.fedavg import TRAIN, FedAvg, Shared


class ExponentialAverage:
    """``average <- decay * average + (1 - decay) * current`` for every floating-point entry of a network."""

    def __init__(self, network: nn.Module, decay: float) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"an exponential average needs a decay in [0, 1), got {decay}")
        self.network, self.decay = copy.deepcopy(network), decay

    @torch.no_grad()
    def update(self, current: nn.Module) -> None:
        values = current.state_dict()
        for name, average in self.network.state_dict().items():
            if average.is_floating_point():
                average.lerp_(values[name], 1.0 - self.decay)
            else:
                average.copy_(values[name])


class AveragedFedAvg(FedAvg):
    """:class:`~fedgen_registry.strategies.fedavg.FedAvg` that also keeps an :class:`ExponentialAverage` of
    its network part ``averaged``, updated after every round's aggregate (state key ``averaged_<part>``)."""

    def __init__(
        self,
        parts: Mapping[str, tuple[Shared, str]],
        clients_per_round: int | None,
        averaged: str,
        decay: float,
        reported: Sequence[str] | None = None,
        message_type: str = TRAIN,
    ) -> None:
        super().__init__(parts, clients_per_round, reported, message_type)
        self.averaged = averaged
        self.average = ExponentialAverage(self.module(averaged), decay)

    def aggregate(self, stage: str, server_round: int, replies: Mapping[int, Message]) -> dict[str, float]:
        metrics = super().aggregate(stage, server_round, replies)
        self.average.update(self.module(self.averaged))
        return metrics

    def state_dict(self) -> State:
        return {**super().state_dict(), f"averaged_{self.averaged}": self.average.network.state_dict()}

    def load_state_dict(self, state: State) -> None:
        super().load_state_dict(state)
        self.average.network.load_state_dict(state[f"averaged_{self.averaged}"])
