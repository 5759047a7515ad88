"""Client-level DP-FedAvg (McMahan, Ramage, Talwar and Zhang, ICLR 2018), wrapped around a FedAvg server.

The mechanism, on the update vectors of the clients that took part in a round:

1. clip each client's update to L2 norm ``C`` (:func:`clip`), so one client moves the sum by at most ``C``;
2. sum the clipped updates (in the clear, or under secure aggregation);
3. add Gaussian noise of standard deviation ``z * C`` to the sum and divide by the *expected* number of
   clients ``q * N`` (:func:`noisy_average`), a fixed denominator, so the average leaks nothing more
   through how many clients answered.

:class:`DPFedAvg` applies it to any server whose aggregate is the ``num_examples``-weighted mean of the
replies, as Flower's ``DifferentialPrivacyServerSideFixedClipping`` wraps a strategy: the inner server
still chooses what to send and what to do with the new global model; the wrapper sees the replies first
and hands the inner server only the noised result. Clients may clip their own updates too
(:func:`client_update`, as Flower's ``fixedclipping_mod`` and the DP-FedAvg-GAN code do); the server clips
again whenever it can see an update.

One round is one Poisson-subsampled Gaussian mechanism; the rounds compose, and
:func:`~fedgen_registry.mechanisms.privacy.accounting.epsilon` accounts for them.

**Sampling assumption.** The accountant assumes that each client takes part in each round independently
with probability ``q = clients_per_round / num_clients`` (Poisson sampling). The engine's default
:meth:`~fedgen_registry.federation.protocol.Server.sample` draws exactly ``clients_per_round`` clients
without replacement (as the paper's code does); for that sampling the Poisson bound is the customary
approximation, not a proof. ``sampling="poisson"`` makes the wrapper sample with :func:`poisson_sample`
instead, so the bound holds as stated. Either way the ledger says which one ran.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from fedgen_registry.federation.errors import FederationError
from fedgen_registry.federation.protocol import Message, Scalar, State, WrappedServer
from fedgen_registry.federation.seeding import derive_seed
from fedgen_registry.mechanisms.crypto.secagg import KEYS_STAGE, SCHEME, UNMASK_STAGE, SecAggServer
from fedgen_registry.mechanisms.privacy import accounting
from fedgen_registry.mechanisms.privacy.calibration import ReleasePlan
from fedgen_registry.mechanisms.privacy.ledger import NO_PRIVACY, PrivacyLedger
from fedgen_registry.mechanisms.privacy.updates import difference, flatten, unflatten
from fedgen_registry.strategies.fedavg import FedAvg

ACCOUNTANT = (
    f"{accounting.HEADLINE}: SelfComposed(PoissonSampled(q, Gaussian(z)), rounds), add/remove-one neighbouring clients"
)


class ClientDPConfig(BaseModel):
    """User-level DP-FedAvg settings (``enabled=False``: plain averaging of unclipped updates, no noise)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    clip_norm: float = Field(0.1, gt=0, description="C: L2 bound on one client's whole update.")
    noise_multiplier: float = Field(0.01, ge=0, description="z: the sum's noise std is z * C.")
    delta: float = Field(1e-5, gt=0, lt=1, description="Target delta of the reported (epsilon, delta).")
    sampling: Literal["fixed", "poisson"] = Field(
        "fixed",
        description="fixed: exactly clients_per_round clients per round (the accountant's Poisson bound is an "
        "approximation); poisson: each client independently with probability q (the bound holds as stated).",
    )


def clip(update: torch.Tensor, clip_norm: float) -> tuple[torch.Tensor, float]:
    """``update * min(1, C / ||update||)`` and the norm before clipping."""
    norm = float(torch.linalg.vector_norm(update))
    return update * min(1.0, clip_norm / norm) if norm > 0 else update.clone(), norm


def noisy_average(
    total: torch.Tensor, clip_norm: float, noise_multiplier: float, expected_clients: float, generator: torch.Generator
) -> torch.Tensor:
    """``(total + N(0, (z C)^2 I)) / expected_clients``: the Gaussian mechanism on the sum, then a fixed denominator."""
    noise = torch.randn(total.shape, generator=generator, dtype=torch.float64) * (noise_multiplier * clip_norm)
    return (total.to(torch.float64) + noise) / expected_clients


def poisson_sample(available: Sequence[int], rate: float, rng: np.random.Generator) -> list[int]:
    """Each client independently with probability ``rate`` (the sampling the accountant assumes); may be empty."""
    return [cid for cid, draw in zip(available, rng.random(len(available)), strict=True) if draw < rate]


def sampling_note(config: ClientDPConfig, clients_per_round: int, num_clients: int) -> str:
    """The sampling assumption in words, for the ledger."""
    q = clients_per_round / num_clients
    if config.sampling == "poisson":
        return (
            f"Clients were Poisson-sampled (each with probability q = {clients_per_round}/{num_clients} = {q:.4g} "
            "per round), as the accountant assumes; the denominator is the expected count q * N."
        )
    return (
        f"Exactly {clients_per_round} of {num_clients} clients were sampled per round without replacement; the "
        f"accountant assumes Poisson sampling with q = {q:.4g}, the customary approximation for fixed-size sampling "
        "(not a proof for it)."
    )


def release_plan(config: ClientDPConfig, clients_per_round: int, num_clients: int, rounds: int) -> ReleasePlan:
    """What a DP-FedAvg run of ``rounds`` rounds releases (for ``--target-epsilon``): one noisy average a round."""
    if not config.enabled:
        raise ValueError("dp.enabled is false: there is no noise to calibrate")
    return ReleasePlan(
        setting="dp.noise_multiplier",
        sample_rate=clients_per_round / num_clients,
        steps=rounds,
        delta=config.delta,
        worst_case="every client, each taking part in a round with probability q",
    )


def ledger(
    config: ClientDPConfig, clients_per_round: int, num_clients: int, rounds: int, secure_aggregation: str | None
) -> PrivacyLedger:
    """The ``privacy.json`` of a DP-FedAvg run after ``rounds`` noisy releases."""
    rate = clients_per_round / num_clients
    guarantee = accounting.guarantee(config.noise_multiplier, rate, rounds, config.delta)
    who_clips = (
        "Clients clip their own updates before masking; under secure aggregation the server cannot check it."
        if secure_aggregation
        else "The server sees each update and clips it itself (the trusted aggregator of the DP-FedAvg setting)."
    )
    return PrivacyLedger(
        mechanism="dp-fedavg",
        level="client",
        noise_multiplier=config.noise_multiplier,
        clipping_norm=config.clip_norm,
        sample_rate=rate,
        steps=rounds,
        steps_unit="rounds",
        epsilon=guarantee.epsilon,
        delta=config.delta,
        accountant=ACCOUNTANT,
        other_epsilons=guarantee.others,
        secure_aggregation=secure_aggregation,
        assumptions=[
            sampling_note(config, clients_per_round, num_clients),
            who_clips,
            "The server adds the noise honestly (trusted aggregator); only the noised average is released.",
            "The noise is drawn from a generator seeded from the run's seed, so runs are reproducible; whoever knows "
            "the seed can remove it, so a deployment needs a secret, cryptographically secure source.",
            "Rounds retried after a missed quorum released nothing and are not counted; drop-outs after sampling "
            "only remove contributions, which the bound already covers.",
        ],
    )


UPDATE = "delta."
"""A reply that carries its update itself names each array ``UPDATE + <name of the array it was sent>``."""
RELEASE = "dp_fedavg.release"
"""The message type of the stand-in replies the inner server aggregates."""
NO_CLIENT = -1
"""The stand-in's id in a round that nobody answered (a Poisson round that sampled no client)."""


def client_update(
    new: Mapping[str, torch.Tensor], received: Mapping[str, torch.Tensor], clip_norm: float | None
) -> torch.Tensor:
    """The client's side: its update ``new - received`` as one vector, clipped to ``C`` when a bound is given."""
    vector = flatten(difference(new, received))
    return vector if clip_norm is None else clip(vector, clip_norm)[0]


def update_arrays(vector: torch.Tensor, received: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """An update vector as the arrays of a reply, named after the arrays it updates (see :data:`UPDATE`)."""
    return {UPDATE + name: value for name, value in unflatten(vector, received).items()}


class DPFedAvg(WrappedServer):
    """Client-level DP-FedAvg around a FedAvg server: clip, sum, noise, divide by the expected count, then FedAvg.

    ``inner`` is a :class:`~fedgen_registry.strategies.fedavg.FedAvg` server: its aggregate is the
    ``num_examples``-weighted mean of the replies' arrays. Each round the wrapper:

    - ``configure``: remembers the global arrays the inner server broadcasts (:meth:`FedAvg.arrays`) and
      passes its messages on (with the round's public keys under secure aggregation);
    - ``aggregate``: takes each reply's update (the ``delta.`` arrays a clipping client sent, or its new
      arrays minus those sent), clips it, sums in client-id order, adds ``N(0, (z C)^2)`` from a generator
      seeded by ``(seed, round)`` and divides by ``expected_clients``; then hands the inner server one
      stand-in reply per contributing client, all carrying ``sent + noised average``. A weighted mean of
      identical float32 arrays, accumulated in float64, rounds back to exactly those arrays, so the
      inner server's model becomes the release bit for bit and its weights cannot matter (checked after
      every round: an integer buffer averaged by truncation could break it, and then the run stops); the stand-ins
      carry the clients' scalars (their losses, for the inner server's history, which the guarantee
      does not cover) with ``num_examples`` set to one, so no client's data size reaches it either.

    With ``config.enabled`` off, the updates are averaged unclipped and without noise (over the clients
    that answered). Under secure aggregation the server sees only the sum, so it cannot clip: the clients
    must, and the ledger says so. The wrapper's own state is the number of releases, which the
    accountant composes; it is checkpointed beside the inner server's state, under ``releases``.
    """

    def __init__(
        self,
        inner: FedAvg,
        config: ClientDPConfig,
        *,
        num_clients: int,
        seed: int,
        secure_aggregation: bool = False,
    ) -> None:
        super().__init__(inner)
        self.inner: FedAvg = inner
        self.config = config
        self.num_clients, self.seed = num_clients, seed
        self.expected_clients = inner.clients_per_round or num_clients
        self.secagg = SecAggServer() if secure_aggregation else None
        self.releases = 0
        self._stage = ""
        self._sent: dict[str, torch.Tensor] = {}
        self._reported: dict[int, Mapping[str, Scalar]] = {}

    def sample(self, server_round: int, available: Sequence[int], rng: np.random.Generator) -> list[int]:
        if self.config.enabled and self.config.sampling == "poisson":
            return poisson_sample(available, self.expected_clients / len(available), rng)
        return self.inner.sample(server_round, available, rng)

    def stages(self, server_round: int) -> Sequence[str]:
        inner = tuple(self.inner.stages(server_round))
        if len(inner) != 1:
            raise ValueError(f"DP-FedAvg wraps a server of one exchange per round, not {inner}")
        return (KEYS_STAGE, *inner, UNMASK_STAGE) if self.secagg else inner

    def configure(self, stage: str, server_round: int, clients: Sequence[int]) -> dict[int, Message]:
        if self.secagg and stage == KEYS_STAGE:
            return self.secagg.key_requests(clients)
        if self.secagg and stage == UNMASK_STAGE:
            return self.secagg.reveal_requests(clients)
        self._stage, self._sent = stage, self.inner.arrays()
        messages = self.inner.configure(stage, server_round, clients)
        if self.secagg is None:
            return messages
        keys = self.secagg.peer_arrays()
        return {cid: replace(message, arrays={**message.arrays, **keys}) for cid, message in messages.items()}

    def aggregate(self, stage: str, server_round: int, replies: Mapping[int, Message]) -> dict[str, float]:
        """Release once per round: after the inner exchange in the clear, after ``secagg.unmask`` under masks."""
        if self.secagg is None:
            self._reported = {cid: replies[cid].config for cid in sorted(replies)}
            return self._release(server_round, self._plain_sum(replies))
        if stage == KEYS_STAGE:
            self.secagg.collect_keys(replies)
            return {}
        if stage == UNMASK_STAGE:
            return self._release(server_round, self.secagg.unmask(replies))
        self.secagg.collect_masked(replies)
        self._reported = {cid: replies[cid].config for cid in sorted(replies)}
        return {}

    def _update(self, reply: Message) -> torch.Tensor:
        """A reply's update as one vector: the ``delta.`` arrays it carries, or its arrays minus those sent."""
        if all(UPDATE + name in reply.arrays for name in self._sent):
            return flatten({name: reply.arrays[UPDATE + name] for name in self._sent})
        return flatten(difference({name: reply.arrays[name] for name in self._sent}, self._sent))

    def _plain_sum(self, replies: Mapping[int, Message]) -> torch.Tensor | None:
        """The sum of the updates the server can see, each clipped here so no client can exceed ``C``."""
        total = None
        for cid in sorted(replies):
            update = self._update(replies[cid])
            if self.config.enabled:
                update, _ = clip(update, self.config.clip_norm)
            total = update if total is None else total + update
        return total

    def _release(self, server_round: int, total: torch.Tensor | None) -> dict[str, float]:
        """Noise the sum (or average it plainly, DP off) and hand the inner server stand-ins carrying the result."""
        sent, count = self._sent, len(self._reported)
        if total is None:  # nobody answered: the release is the noise alone
            total = torch.zeros(sum(array.numel() for array in sent.values()), dtype=torch.float64)
        if self.config.enabled:
            noise = torch.Generator().manual_seed(derive_seed(self.seed, server_round, "dp-fedavg-noise"))
            average = noisy_average(
                total, self.config.clip_norm, self.config.noise_multiplier, self.expected_clients, noise
            )
        else:
            average = total / max(count, 1)
        update = unflatten(average, sent)
        released = {name: sent[name] + update[name] for name in sent}
        contributors = self._reported or {NO_CLIENT: {}}  # a noise-only release reaches the inner server too
        stand_ins = {
            cid: Message(RELEASE, released, {**reported, "num_examples": 1}) for cid, reported in contributors.items()
        }
        self.releases += 1
        metrics = self.inner.aggregate(self._stage, server_round, stand_ins)
        held = self.inner.arrays()
        if any(not torch.equal(held[name], released[name]) for name in released):
            raise FederationError(f"{type(self.inner).__name__} did not take the noised release unchanged")
        return {**metrics, "clients_aggregated": float(count), "update_norm": float(torch.linalg.vector_norm(average))}

    def ledger(self) -> PrivacyLedger:
        """The guarantee after the releases so far (``mechanism: none`` with DP switched off)."""
        secagg = SCHEME if self.secagg else None
        if not self.config.enabled:
            return NO_PRIVACY.model_copy(update={"secure_aggregation": secagg})
        return ledger(self.config, self.expected_clients, self.num_clients, self.releases, secagg)

    def state_dict(self) -> State:
        return {**self.inner.state_dict(), "releases": self.releases}

    def load_state_dict(self, state: State) -> None:
        self.releases = int(state["releases"])
        self.inner.load_state_dict({key: value for key, value in state.items() if key != "releases"})
