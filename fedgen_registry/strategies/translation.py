"""The federated translation schemes' server/client logic: sites that train a local CycleGAN, sharing generators.

The tasks' half (contrasts, aligned held-out pairs, translation quality) is
:mod:`fedgen_registry.tasks.translation`; this module holds what travels and how it is trained:

- :class:`CycleGANSite`: a site holding both modalities unpaired that trains a local CycleGAN (two
  generators that travel, two discriminators that never leave), with hooks for a paper's additions;
- :class:`CycleFederation`: the task with such sites and a FedAvg server that holds only the two
  generators (:class:`~fedgen_registry.strategies.fedavg.Arrays`), judged on the aligned pairs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from fedgen_registry.federation.arrays import load_module_arrays, module_arrays
from fedgen_registry.federation.protocol import Client, Message, Server, State
from fedgen_registry.models.gan import MLPDiscriminator, MLPGenerator
from fedgen_registry.objectives.gan import OptimConfig, adam
from fedgen_registry.strategies.fedavg import FedAvg, arrays_server, shared_arrays
from fedgen_registry.strategies.gan import GAN_LOSSES
from fedgen_registry.tasks.translation import PIXELS, TranslationAlgorithm, TranslationConfig, contrast, lsgan_loss


class CycleSettings(BaseModel):
    """Loss weights of a local CycleGAN (Zhu et al. 2017)."""

    model_config = ConfigDict(extra="forbid")

    lambda_cyc: float = Field(10.0, ge=0, description="Weight of the cycle-consistency L1 term.")
    lambda_identity: float = Field(0.0, ge=0, description="Weight of the identity L1 term (0: off).")


CYCLE = "train.cycle_generators"


class CycleGANSite(Client):
    """A site with modality ``a`` and ``b`` images of *different* subjects, training a local CycleGAN.

    The two generators (``g_ab.``, ``g_ba.``) arrive, are trained for ``local_steps`` LSGAN steps with fresh
    Adam moments, and go back; the two discriminators are the site's private state and never travel.
    A paper changes what the generator's adversarial term sees (:meth:`adversarial_view`) or adds losses
    (:meth:`generator_extra`, :meth:`discriminator_extra`).
    """

    def __init__(
        self,
        a: torch.Tensor,
        b: torch.Tensor,
        networks: Mapping[str, nn.Module],
        cycle: CycleSettings,
        optim: OptimConfig,
        local_steps: int,
    ) -> None:
        self.a, self.b = a, b
        self.g_ab, self.g_ba, self.d_a, self.d_b = (networks[k] for k in ("g_ab", "g_ba", "d_a", "d_b"))
        self.cycle, self.optim, self.local_steps = cycle, optim, local_steps

    def handle(self, message: Message) -> Message:
        if message.message_type != CYCLE:
            raise ValueError(f"a CycleGAN site does not handle {message.message_type!r}")
        load_module_arrays(self.g_ab, message.arrays, "g_ab.")
        load_module_arrays(self.g_ba, message.arrays, "g_ba.")
        generators = list(self.g_ab.parameters()) + list(self.g_ba.parameters())
        discriminators = nn.ModuleList([self.d_a, self.d_b])
        opt_g = torch.optim.Adam(generators, lr=self.optim.lr_g, betas=(self.optim.beta1, self.optim.beta2))
        opt_d = adam(discriminators, self.optim.lr_d, self.optim)
        totals = {"g_loss": 0.0, "d_loss": 0.0}
        for _ in range(self.local_steps):
            for key, value in self.step(opt_g, opt_d).items():
                totals[key] += value / self.local_steps
        arrays = {**module_arrays(self.g_ab, "g_ab."), **module_arrays(self.g_ba, "g_ba.")}
        return Message(CYCLE, arrays, {"num_examples": len(self.a) + len(self.b), **totals})

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        size = self.optim.batch_size
        return self.a[torch.randint(len(self.a), (size,))], self.b[torch.randint(len(self.b), (size,))]

    def step(self, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer) -> dict[str, float]:
        real_a, real_b = self.batch()
        fake_b, fake_a = self.g_ab(real_a), self.g_ba(real_b)
        adversarial = lsgan_loss(self.d_b(self.adversarial_view(fake_b)), 1.0) + lsgan_loss(
            self.d_a(self.adversarial_view(fake_a)), 1.0
        )
        cyc = (self.g_ba(fake_b) - real_a).abs().mean() + (self.g_ab(fake_a) - real_b).abs().mean()
        g_loss = adversarial + self.cycle.lambda_cyc * cyc + self.generator_extra(fake_a, fake_b)
        if self.cycle.lambda_identity:
            identity = (self.g_ab(real_b) - real_b).abs().mean() + (self.g_ba(real_a) - real_a).abs().mean()
            g_loss = g_loss + self.cycle.lambda_identity * identity
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        fake_a, fake_b = fake_a.detach(), fake_b.detach()
        d_loss = 0.5 * (
            lsgan_loss(self.d_a(real_a), 1.0)
            + lsgan_loss(self.d_a(fake_a), 0.0)
            + lsgan_loss(self.d_b(real_b), 1.0)
            + lsgan_loss(self.d_b(fake_b), 0.0)
        ) + self.discriminator_extra(real_a, real_b, fake_a, fake_b)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        return {"g_loss": float(g_loss.item()), "d_loss": float(d_loss.item())}

    def adversarial_view(self, fake: torch.Tensor) -> torch.Tensor:
        """What a discriminator judges in the generator step (as is; FedMed-GAN sanitises its gradient)."""
        return fake

    def generator_extra(self, fake_a: torch.Tensor, fake_b: torch.Tensor) -> torch.Tensor:
        return torch.zeros(())

    def discriminator_extra(
        self, real_a: torch.Tensor, real_b: torch.Tensor, fake_a: torch.Tensor, fake_b: torch.Tensor
    ) -> torch.Tensor:
        return torch.zeros(())

    def state_dict(self) -> State:
        return {"d_a": self.d_a.state_dict(), "d_b": self.d_b.state_dict()}

    def load_state_dict(self, state: State) -> None:
        self.d_a.load_state_dict(state["d_a"])
        self.d_b.load_state_dict(state["d_b"])


def cycle_generator_arrays(g_ab: nn.Module, g_ba: nn.Module) -> dict[str, torch.Tensor]:
    """The arrays a CycleGAN federation shares: both generators, nothing else."""
    return {**module_arrays(g_ab, "g_ab."), **module_arrays(g_ba, "g_ba.")}


class CycleConfig(TranslationConfig):
    cycle: CycleSettings = CycleSettings()


CycleConfigT = TypeVar("CycleConfigT", bound=CycleConfig)


class CycleFederation(TranslationAlgorithm[CycleConfigT]):
    """Sites that hold both modalities of *different* subjects (unpaired) and share only the two generators.

    Each site's rows are split in two halves: the first half is seen in modality a only, the second in
    modality b only, so no site holds a pair. Subclasses build their own sites (:meth:`new_site`) and may
    change what a site's b images look like (:meth:`site_b_images`).
    """

    def new_translator(self) -> nn.Module:
        return MLPGenerator(PIXELS, self.config.model.hidden, PIXELS)

    def new_critic(self) -> nn.Module:
        return MLPDiscriminator(PIXELS, self.config.model.hidden)

    def make_server(self) -> FedAvg:
        arrays = cycle_generator_arrays(self.new_translator(), self.new_translator())
        return arrays_server(arrays, self.config.clients_per_round, CYCLE, GAN_LOSSES)

    def site_rows(self, client_id: int) -> tuple[torch.Tensor, torch.Tensor]:
        rows = torch.as_tensor(self.train.x[self.parts[client_id]])
        half = len(rows) // 2
        return contrast(rows[:half], self.config.source), self.site_b_images(contrast(rows[half:], self.config.target))

    def site_b_images(self, b: torch.Tensor) -> torch.Tensor:
        return b

    def site_networks(self) -> dict[str, nn.Module]:
        return {
            "g_ab": self.new_translator(),
            "g_ba": self.new_translator(),
            "d_a": self.new_critic(),
            "d_b": self.new_critic(),
        }

    def new_site(self, a: torch.Tensor, b: torch.Tensor, networks: dict[str, nn.Module]) -> CycleGANSite:
        config = self.config
        return CycleGANSite(a, b, networks, config.cycle, config.optim, config.local_steps)

    def make_client(self, client_id: int) -> CycleGANSite:
        return self.new_site(*self.site_rows(client_id), self.site_networks())

    def finish(self, server: Server) -> dict[str, Any]:
        shared = shared_arrays(server)
        g_ab = shared.load_into(self.new_translator(), "g_ab.")
        g_ba = shared.load_into(self.new_translator(), "g_ba.")
        return self.judge(g_ab, g_ba)
