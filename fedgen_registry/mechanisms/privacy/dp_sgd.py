"""Record-level DP-SGD inside one client, with Opacus: per-example clipping and Gaussian noise on its model.

:func:`make_private` takes what a client already trains with (a module such as its discriminator, its
optimizer and its :class:`~fedgen_registry.data.local.LocalData`) and returns drop-in replacements,
as Opacus's ``PrivacyEngine.make_private`` does: the module computes per-example gradients, the
optimizer clips each to ``max_grad_norm`` and adds ``N(0, (z * max_grad_norm)^2)`` to their sum, and the
data draws Poisson batches (each record independently with Opacus's sample rate), which is the sampling
the RDP accountant assumes. The GAN steps of :mod:`fedgen_registry.objectives.gan` run on them unchanged.

Each client gets its own ``PrivacyEngine`` and so its own accountant: record-level privacy is per data
holder, and one client's steps say nothing about another's records. Opacus's RDP accountant is what the
client trains with; the ledger's headline is the registry's one accountant
(:mod:`~fedgen_registry.mechanisms.privacy.accounting`, PLD) on each client's (q, steps), with Opacus's own
epsilon and dp-accounting's RDP beside it. Opacus's RDP and dp-accounting's differ by a few per cent for the same
(q, z, steps) (their orders and RDP-to-DP conversions differ).

With several forward passes before one backward (a discriminator's real and generated halves), Opacus
adds the per-example gradients position by position before clipping; each real record is still in
exactly one clipped unit, so the sensitivity stays ``max_grad_norm``. Generated samples are not private.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import torch
from opacus import PrivacyEngine
from opacus.optimizers import DPOptimizer
from pydantic import BaseModel, ConfigDict, Field
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from fedgen_registry.data.local import LocalData
from fedgen_registry.mechanisms.privacy import accounting
from fedgen_registry.mechanisms.privacy.ledger import PrivacyLedger

OPACUS = f"opacus {version('opacus')} RDP"
"""The key of Opacus's own epsilon (the accountant the clients trained with) among a ledger's ``other_epsilons``."""
ACCOUNTANT = (
    f"{accounting.HEADLINE} per client on each Opacus history: SelfComposed(PoissonSampled(q, Gaussian(z)), "
    "optimizer steps); the run's is the worst client's"
)


class RecordDPConfig(BaseModel):
    """DP-SGD settings of one client's training."""

    model_config = ConfigDict(extra="forbid")

    noise_multiplier: float = Field(1.0, ge=0, description="z: noise std over the clipping norm.")
    max_grad_norm: float = Field(1.0, gt=0, description="C: L2 bound on one example's gradient.")
    delta: float = Field(1e-5, gt=0, lt=1, description="Target delta of the reported (epsilon, delta).")


@dataclass(frozen=True)
class PoissonData(LocalData):
    """A client's rows that hand out Poisson batches from Opacus's ``DPDataLoader``.

    ``batch(size)`` keeps :class:`LocalData`'s signature so the GAN steps run unchanged, but the size is
    fixed when privacy is attached: the sample rate is what the accountant composes, so a caller asking for
    another size is refused rather than silently accounted at the wrong rate. Batches vary in size.
    """

    loader: DataLoader
    batch_size: int

    def batch(self, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        if size != self.batch_size:
            raise ValueError(f"privacy was attached for batches of {self.batch_size}, not {size}")
        return next(iter(self.loader))


@dataclass(frozen=True)
class PrivateTraining:
    """The private module, optimizer and data of one client, and the engine that accounts for them."""

    module: nn.Module
    optimizer: DPOptimizer
    data: PoissonData
    engine: PrivacyEngine
    config: RecordDPConfig
    sample_rate: float
    """Opacus's rate, ``1 / number of batches``: what its data loader samples at and its accountant composes."""

    @property
    def steps(self) -> int:
        return sum(int(steps) for _, _, steps in self.engine.accountant.history)

    def epsilon(self, delta: float | None = None) -> float:
        """Epsilon spent so far at ``delta`` (the configured one by default), from this client's accountant."""
        return float(self.engine.get_epsilon(self.config.delta if delta is None else delta))

    def state_dict(self) -> dict[str, Any]:
        """The accountant's history (lists of numbers): what a checkpoint must keep to go on accounting."""
        return {"history": [list(entry) for entry in self.engine.accountant.history]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.engine.accountant.history = [tuple(entry) for entry in state["history"]]


def make_private(
    module: nn.Module, optimizer: torch.optim.Optimizer, data: LocalData, batch_size: int, config: RecordDPConfig
) -> PrivateTraining:
    """Attach record-level DP-SGD to a client's module, optimizer and rows (a fresh ``PrivacyEngine``, RDP accountant).

    Noise and Poisson batches come from torch's global generator, which the engine seeds for every call, so
    a run stays reproducible; seeding differently gives different noise.
    """
    engine = PrivacyEngine(accountant="rdp")
    loader = DataLoader(TensorDataset(data.x, data.y), batch_size=batch_size)
    private_module, private_optimizer, private_loader = engine.make_private(
        module=module,
        optimizer=optimizer,
        data_loader=loader,
        noise_multiplier=config.noise_multiplier,
        max_grad_norm=config.max_grad_norm,
        poisson_sampling=True,
    )
    private_data = PoissonData(data.x, data.y, data.num_classes, private_loader, batch_size)
    return PrivateTraining(private_module, private_optimizer, private_data, engine, config, 1 / len(loader))


def ledger(clients: dict[int, PrivateTraining], config: RecordDPConfig) -> PrivacyLedger:
    """The ``privacy.json`` of a run whose clients each ran DP-SGD; the run's epsilon is the worst client's."""
    ordered = sorted(clients.items())
    releases = {str(cid): (training.sample_rate, training.steps) for cid, training in ordered}
    per_client, worst = accounting.per_client(config.noise_multiplier, releases, config.delta)
    worst[OPACUS] = max(training.epsilon(config.delta) for _, training in ordered)
    return PrivacyLedger(
        mechanism="dp-sgd",
        level="record",
        noise_multiplier=config.noise_multiplier,
        clipping_norm=config.max_grad_norm,
        sample_rate=max(rate for rate, _ in releases.values()),
        steps=max(steps for _, steps in releases.values()),
        steps_unit="optimizer-steps",
        epsilon=max(per_client.values()),
        delta=config.delta,
        accountant=ACCOUNTANT,
        other_epsilons=worst,
        per_client_epsilon=per_client,
        per_client_releases=releases,
        assumptions=[
            "Each client's records are Poisson-sampled by Opacus's DPDataLoader at its own rate "
            "(1 / number of batches); the run-level epsilon and sample rate are the worst client's.",
            "Guarantees hold per record of one client's data; they say nothing about a client as a whole.",
        ],
    )
