"""FedAvg, written once: the server that replaces each network it holds by the clients' weighted mean.

As in Flower's ``FedAvg`` strategy, the server knows nothing of what the networks are: it holds named
:class:`Shared` parts, sends each under its ``prefix`` (a generator under ``g.``, a discriminator under
``d.``, a family's single network under ``model.``), and replaces each by the mean of the replies
weighted by :meth:`FedAvg.weights` (the clients' ``num_examples`` by default; FeGAN and IFL-GAN
override it). A part is a whole network (:class:`Network`), some of its entries only (partial sharing,
``names``), or bare arrays that no network on the server holds (:class:`Arrays`). The round's metrics
are the size-weighted mean of the scalar losses the replies report.

The state dict keeps each part under its name, holding only the arrays that travel: what a network
does not share never changes on the server, so the constructor rebuilds it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import nn

from fedgen_registry.federation.arrays import size_weighted, weighted_mean
from fedgen_registry.federation.protocol import Message, Server, State

TRAIN = "train.fedavg"


class Shared(Protocol):
    """One part a FedAvg server holds: the arrays that travel (unprefixed) and how their mean comes back in."""

    def arrays(self) -> dict[str, torch.Tensor]:
        """The arrays that travel, cloned (a message must never alias the server's tensors)."""
        ...

    def load(self, arrays: Mapping[str, torch.Tensor]) -> None:
        """Take ``arrays`` (the names :meth:`arrays` gives) as the part's new values."""
        ...


@dataclass(frozen=True)
class Network:
    """A network shared whole, or only its ``names`` entries (its other entries stay as they are)."""

    module: nn.Module
    names: frozenset[str] | None = None

    def arrays(self) -> dict[str, torch.Tensor]:
        return {
            name: value.detach().clone()
            for name, value in self.module.state_dict().items()
            if self.names is None or name in self.names
        }

    def load(self, arrays: Mapping[str, torch.Tensor]) -> None:
        if self.names is None:
            self.module.load_state_dict(dict(arrays))
        else:
            self.module.load_state_dict({**self.module.state_dict(), **arrays})


class Arrays:
    """Named arrays held as such: what travels when no network on the server holds them (shared stages)."""

    def __init__(self, arrays: Mapping[str, torch.Tensor]) -> None:
        self.values = {name: value.detach().clone() for name, value in arrays.items()}

    def arrays(self) -> dict[str, torch.Tensor]:
        return {name: value.clone() for name, value in self.values.items()}

    def load(self, arrays: Mapping[str, torch.Tensor]) -> None:
        self.values = dict(arrays)

    def load_into(self, module: nn.Module, prefix: str) -> nn.Module:
        """Load the arrays named ``prefix + name`` over ``module``'s own entries (to evaluate what was shared)."""
        own = module.state_dict()
        own.update({name[len(prefix) :]: v for name, v in self.values.items() if name.startswith(prefix)})
        module.load_state_dict(own)
        return module


class FedAvg(Server):
    """Sends every part under its prefix; replaces each by the replies' mean weighted by :meth:`weights`.

    ``parts`` maps a name (the part's key in the state dict: ``generator``, ``model``...) to the part and
    its prefix in messages. ``reported`` names the scalar losses averaged into the round's metrics
    (``None``: every scalar the replies carry besides ``num_examples``). ``last_weights`` keeps the
    normalised weights of the last round per part, so runs and tests can read the rule that was applied.
    """

    message_type = TRAIN
    """FedAvg's message (the parts down, the trained parts up), which FedAvg clients answer."""

    def __init__(
        self,
        parts: Mapping[str, tuple[Shared, str]],
        clients_per_round: int | None,
        reported: Sequence[str] | None = None,
        message_type: str = TRAIN,
    ) -> None:
        self.parts = {name: part for name, (part, _) in parts.items()}
        self.prefixes = {name: prefix for name, (_, prefix) in parts.items()}
        self.names = {name: tuple(part.arrays()) for name, part in self.parts.items()}
        self.clients_per_round, self.reported, self.message_type = clients_per_round, reported, message_type
        self.last_weights: dict[str, dict[int, float]] = {}

    def arrays(self) -> dict[str, torch.Tensor]:
        """Every part's arrays under its prefix: the payload of a training message."""
        return {
            self.prefixes[name] + key: value
            for name, part in self.parts.items()
            for key, value in part.arrays().items()
        }

    def configure(self, stage: str, server_round: int, clients: Sequence[int]) -> dict[int, Message]:
        arrays = self.arrays()
        return {cid: Message(self.message_type, arrays, {"round": server_round}) for cid in clients}

    def weights(self, part: str, order: Sequence[int], replies: Mapping[int, Message]) -> list[float]:
        """FedAvg's rule for every part: the clients' data sizes, in ``order``."""
        return [float(replies[cid].config["num_examples"]) for cid in order]

    def aggregate(self, stage: str, server_round: int, replies: Mapping[int, Message]) -> dict[str, float]:
        order = sorted(replies)
        sent = {self.prefixes[name] + key for name, keys in self.names.items() for key in keys}
        if any(set(replies[cid].arrays) != sent for cid in order):
            raise ValueError("a client returned other arrays than the shared ones it was sent")
        self.last_weights = {}
        for name, part in self.parts.items():
            prefix, weights = self.prefixes[name], self.weights(name, order, replies)
            mean = weighted_mean(
                [{k: replies[cid].arrays[prefix + k] for k in self.names[name]} for cid in order], weights
            )
            part.load(mean)
            self.last_weights[name] = {cid: w / sum(weights) for cid, w in zip(order, weights, strict=True)}
        reported = self.reported
        if reported is None:
            reported = [key for key in replies[order[0]].config if key != "num_examples"]
        return size_weighted(replies, order, reported)

    def module(self, name: str) -> nn.Module:
        """The network behind part ``name``, to evaluate it after the last round."""
        part = self.parts[name]
        if not isinstance(part, Network):
            raise TypeError(f"part {name!r} of {type(self).__name__} is not a network")
        return part.module

    def state_dict(self) -> State:
        return {name: part.arrays() for name, part in self.parts.items()}

    def load_state_dict(self, state: State) -> None:
        for name, part in self.parts.items():
            part.load(state[name])


SHARED = "arrays"
"""The name of the one :class:`Arrays` part of a server that holds only shared arrays (its state key)."""


def arrays_server(
    arrays: Mapping[str, torch.Tensor], clients_per_round: int | None, message_type: str, reported: Sequence[str]
) -> FedAvg:
    """FedAvg of bare arrays, sent under their own names: the generators or shared stages of schemes
    whose networks stay on the clients, so nothing else can be in a message the server sends."""
    return FedAvg({SHARED: (Arrays(arrays), "")}, clients_per_round, reported, message_type)


def shared_arrays(server: Server) -> Arrays:
    """The :class:`Arrays` that a server made by :func:`arrays_server` (or a subclass) holds."""
    part = server.parts.get(SHARED) if isinstance(server, FedAvg) else None
    if not isinstance(part, Arrays):
        raise TypeError(f"{type(server).__name__} does not hold shared arrays")
    return part
