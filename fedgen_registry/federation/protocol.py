"""The algorithm protocol, modelled on Flower's Message API and its Strategy hooks.

A message is named arrays, a small config dict and a ``message_type`` such as ``"train.fedavg"``
(Flower's ``<category>.<action>`` form, so a later Flower ``ClientApp`` can route it unchanged). Server
logic fills hooks: which clients to :meth:`~Server.sample`, which :meth:`~Server.stages` a round has,
what to send at each stage (:meth:`~Server.configure`) and how to consume the replies
(:meth:`~Server.aggregate`). Client logic turns one message into one reply and may keep private state
across rounds (a discriminator that never leaves the client). The engine owns the loop, transport,
seeding, faults and checkpoints, as Flower's ``Strategy.start`` and ``Grid`` do, so an algorithm file
holds only what makes the paper that paper.

Stages let one round hold several exchanges without the algorithm driving transport: FedAvg has one
(``train``); MD-GAN adds discriminator swaps (collect, then deliver); a one-shot upload is one round
with an ``upload`` stage; vertical partitions send each party its own columns' messages.

This module imports no torch: arrays are torch tensors at run time, but nothing here touches them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

if TYPE_CHECKING:
    import numpy as np
    import torch

    from fedgen_registry.federation.config import FederationConfig

Scalar = int | float | str | bool
State = dict[str, Any]
"""A persistent state: tensors and primitive containers only, so checkpoints load with ``weights_only=True``."""


@dataclass(frozen=True)
class Message:
    """What travels between server and client, in either direction.

    ``arrays`` are tensors (parameters, generated samples, gradients); ``config`` holds scalars
    (instructions going down, losses and example counts coming back).
    """

    message_type: str
    arrays: Mapping[str, torch.Tensor] = field(default_factory=dict)
    config: Mapping[str, Scalar] = field(default_factory=dict)

    def nbytes(self) -> int:
        """Payload size, for the communication cost recorded per round."""
        return sum(int(a.element_size() * a.nelement()) for a in self.arrays.values())


class Server(ABC):
    """Server logic. State that must survive a restart goes through :meth:`state_dict`."""

    clients_per_round: int | None = None
    """How many clients :meth:`sample` picks each round; ``None`` takes every client."""

    def sample(self, server_round: int, available: Sequence[int], rng: np.random.Generator) -> list[int]:
        """The clients asked to take part in this round (uniformly without replacement by default)."""
        if self.clients_per_round is None or self.clients_per_round >= len(available):
            return list(available)
        chosen = rng.choice(len(available), size=self.clients_per_round, replace=False)
        return sorted(available[int(i)] for i in chosen)

    def stages(self, server_round: int) -> Sequence[str]:
        """The exchanges of a round, in order; each is one configure/deliver/aggregate pass."""
        return ("train",)

    @abstractmethod
    def configure(self, stage: str, server_round: int, clients: Sequence[int]) -> dict[int, Message]:
        """Messages for this stage, by client id; ``clients`` are those still taking part in the round."""

    @abstractmethod
    def aggregate(self, stage: str, server_round: int, replies: Mapping[int, Message]) -> dict[str, float]:
        """Consume the replies of this stage; return metrics for the round's history."""

    @abstractmethod
    def state_dict(self) -> State: ...

    @abstractmethod
    def load_state_dict(self, state: State) -> None: ...


class WrappedServer(Server):
    """A server wrapped around another, as Flower's DP wrappers wrap a strategy: every hook goes to ``inner``.

    Mechanisms (robust aggregation, DP-FedAvg) and adversary roles (a curious server) subclass it and
    override only the hooks they change, so the wrapped strategy keeps everything else, its networks and
    its checkpointed state included; evaluation reads ``inner``.
    """

    def __init__(self, inner: Server) -> None:
        self.inner = inner
        self.clients_per_round = inner.clients_per_round

    def sample(self, server_round: int, available: Sequence[int], rng: np.random.Generator) -> list[int]:
        return self.inner.sample(server_round, available, rng)

    def stages(self, server_round: int) -> Sequence[str]:
        return self.inner.stages(server_round)

    def configure(self, stage: str, server_round: int, clients: Sequence[int]) -> dict[int, Message]:
        return self.inner.configure(stage, server_round, clients)

    def aggregate(self, stage: str, server_round: int, replies: Mapping[int, Message]) -> dict[str, float]:
        return self.inner.aggregate(stage, server_round, replies)

    def state_dict(self) -> State:
        return self.inner.state_dict()

    def load_state_dict(self, state: State) -> None:
        self.inner.load_state_dict(state)


class Client(ABC):
    """Client logic: one message in, one reply out; private state persists between messages."""

    @abstractmethod
    def handle(self, message: Message) -> Message:
        """Answer one message; raise for a ``message_type`` the client does not know."""

    def state_dict(self) -> State:
        """The client's private state that must survive a restart (none by default)."""
        return {}

    def load_state_dict(self, state: State) -> None:
        if state:
            raise ValueError(f"{type(self).__name__} keeps no state but was given {sorted(state)}")


class BatchedClient(Client):
    """A client whose answer to some messages the local engine can compute for many clients at once.

    With ``vectorise_clients`` set, the engine asks each such client to :meth:`prepare` its message
    under that client's own seed (drawing every random number its :meth:`~Client.handle` would draw, in
    the same order), then hands the prepared clients of one class to :meth:`handle_prepared` together.
    The replies must equal :meth:`~Client.handle`'s up to floating-point rounding; batching is an
    optimisation, never another algorithm.

    A subclass that overrides ``handle`` or ``train`` stops being batched (``batched_messages`` is reset
    to empty) unless it declares ``batched_messages`` again, saying that its batched path is still right.
    """

    batched_messages: ClassVar[frozenset[str]] = frozenset()
    """The ``message_type`` s this class can batch."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        changes_answer = any(name in cls.__dict__ for name in ("handle", "train"))
        if changes_answer and "batched_messages" not in cls.__dict__:
            cls.batched_messages = frozenset()

    def batching_refusal(self) -> str:
        """Why this client cannot be batched (e.g. its networks keep per-client buffers); empty when it can."""
        return ""

    @abstractmethod
    def prepare(self, message: Message) -> Any:
        """Check the message and draw this client's randomness for it; called under the client's seed."""

    @classmethod
    @abstractmethod
    def handle_prepared(
        cls, clients: Sequence[BatchedClient], messages: Sequence[Message], plans: Sequence[Any]
    ) -> list[Message]:
        """The replies of ``clients`` to ``messages``, computed together from their prepared ``plans``."""


C = TypeVar("C", bound="FederationConfig")


class Algorithm(ABC, Generic[C]):
    """A registered implementation: builds the server and the clients from a config, and judges the result.

    The engine calls :meth:`make_server` and :meth:`make_client` under its own seeding, runs the rounds,
    then calls :meth:`finish` with the final server to compute metrics and write artefacts.
    """

    uploads: ClassVar[Mapping[str, str]] = MappingProxyType({})
    """What leaves a client, declared: array-name prefix of an upload -> the catalogue word for it.

    Each key is a prefix of the names of the arrays a client's replies carry (``"g."`` for generator
    parameters, ``"d."``, ``"model."``, ``"samples"``, ``"grad"``), each value a word of the catalogue's
    ``aggregation.shared`` vocabulary (:class:`~fedgen_registry.catalog.vocab.SharedArtifact`:
    ``"generator-parameters"``, ``"synthetic-samples"``, ``"gradients"``, ...). It is what a privacy
    reading of the algorithm starts from, so it is checked, not trusted: the contract tests watch every
    message on the wire and fail on an uploaded array that no prefix declares, and on a word that the
    catalogue entries using this implementation do not list. Write it as ``MappingProxyType({...})`` (an
    immutable mapping, shared by every instance); empty means not declared yet.
    """

    weighted_mean_upload: ClassVar[bool] = False
    """Whether the server uses the uploads only through their ``num_examples``-weighted mean.

    True when replacing every reply's arrays by that mean (each reply keeping its own scalars) leaves
    the server's result unchanged, as in FedAvg. That is the condition for secure aggregation (SecAgg+):
    the server then receives the mean and never one client's upload. MD-GAN, which needs each worker's
    own feedback, and anything that clips, weighs or selects per client on the server, is ``False``.
    """

    flower_refusal: ClassVar[str] = ""
    """Why the flower engine cannot carry this algorithm, in a sentence for people; empty when it can.

    The flower engine refuses such an algorithm before any message is sent, with this reason, instead of
    running something that would differ from the local engine; the contract tests check both halves
    (an algorithm without a reason matches the local engine bit for bit, one with a reason is refused).
    """

    def __init__(self, config: C, run_dir: Path) -> None:
        self.config = config
        self.run_dir = run_dir

    @property
    @abstractmethod
    def num_clients(self) -> int: ...

    @abstractmethod
    def make_server(self) -> Server: ...

    @abstractmethod
    def make_client(self, client_id: int) -> Client: ...

    @abstractmethod
    def finish(self, server: Server) -> dict[str, Any]:
        """Final metrics (JSON-ready) after the last round; may write artefacts into ``run_dir``."""


def is_algorithm(target: object) -> bool:
    """Whether a registered target is an :class:`Algorithm` class (run by an engine) rather than a plain callable."""
    return isinstance(target, type) and issubclass(target, Algorithm)
