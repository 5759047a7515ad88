"""A client's local GAN training with record-level DP-SGD on its discriminator (Opacus).

Several federated-GAN papers (FedDPGAN, PP-FedGAN, after DPGAN of Xie et al. 2018 and Opacus's DCGAN
example) protect a client's rows the same way: the discriminator, the only network that reads them, is trained
with DP-SGD (per-example clipping, Gaussian noise, Poisson batches); the generator learns only from the
discriminator's verdicts on generated samples, so it and everything derived from it are private by
post-processing. :class:`PrivateGANTrainer` attaches :func:`~fedgen_registry.mechanisms.privacy.dp_sgd.make_private`
to a client's discriminator once, for the whole run, so its accountant composes every step the client takes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from torch import nn

from fedgen_registry.data.local import LocalData
from fedgen_registry.mechanisms.privacy.calibration import ReleasePlan
from fedgen_registry.mechanisms.privacy.dp_sgd import PrivateTraining, RecordDPConfig, make_private
from fedgen_registry.objectives.gan import OptimConfig, adam, discriminator_step, fake_labels, generate, generator_loss
from fedgen_registry.strategies.gan import FEDAVG_GAN_QUALITY, STABLE_GAN_RECIPE

RECORD_DP_GAN_QUALITY: dict[str, Any] = {
    **{key: FEDAVG_GAN_QUALITY[key] for key in ("rounds", "clients", "clients_per_round", "local_steps")},
    "optim.batch_size": STABLE_GAN_RECIPE["optim.batch_size"],
    "optim.lr_g": 0.002,
    "optim.lr_d": 0.002,
    "dp.noise_multiplier": 0.5,
    "dp.max_grad_norm": 1.0,
}
"""The quality budget of a federation of DP-SGD GANs (FedDPGAN, PP-FedGAN): FedAvg-GAN's local steps (40 rounds x
2 of 10 clients x 50 steps), whose Poisson batches of expected size 64 come from Opacus's loader, outside the sample
meter (so a run's real_rows reads 0). Not the stable recipe: Opacus cannot take per-example gradients through
spectral norm (a parametrisation with buffers), the private trainer keeps the non-saturating loss, and under DP-SGD
noise Adam(0, 0.9) at 2e-4 with width 256 collapses to one image (KID 3.2 at noise 1, seed 0); the default width
128, rates 2e-3 with Adam(0.5, 0.999), noise multiplier 0.5 and clip 1 on each example's gradient. Shared, so that
the encrypted federation and the plaintext one train the same GANs."""


def release_plan(
    dp: RecordDPConfig, client_rows: Sequence[int], batch_size: int, rounds: int, steps: int
) -> ReleasePlan:
    """What a federation of DP-SGD GAN clients releases (for ``--target-epsilon``): a record of the smallest client
    has the highest Opacus rate (1 / its number of batches) and, if that client trains every round, the most steps."""
    smallest = min(client_rows)
    return ReleasePlan(
        setting="dp.noise_multiplier",
        sample_rate=1 / math.ceil(smallest / batch_size),
        steps=rounds * steps,
        delta=dp.delta,
        worst_case=f"a record of the smallest client ({smallest} rows) if that client trains every round",
    )


class PrivateGANTrainer:
    """Local GAN steps of one client whose discriminator is trained with DP-SGD."""

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        data: LocalData,
        optim: OptimConfig,
        dp: RecordDPConfig,
        latent_dim: int,
        conditional: bool,
    ) -> None:
        self.generator, self.optim, self.latent_dim, self.conditional = generator, optim, latent_dim, conditional
        self.private: PrivateTraining = make_private(
            discriminator, adam(discriminator, optim.lr_d, optim), data, optim.batch_size, dp
        )

    def train(self, steps: int) -> dict[str, float]:
        """``steps`` alternating updates, with fresh Adam moments as FedAvg-GAN's clients start each round."""
        self.private.optimizer.original_optimizer.state.clear()
        opt_g = adam(self.generator, self.optim.lr_g, self.optim)
        discriminator, size = self.private.module, self.optim.batch_size
        d_total = g_total = 0.0
        for _ in range(steps):
            labels = fake_labels(size, self.private.data.num_classes, self.conditional)
            fake = generate(self.generator, size, self.latent_dim, labels)
            d_total += discriminator_step(
                discriminator, self.private.optimizer, self.private.data, fake, labels, self.conditional
            )
            discriminator.disable_hooks()  # the generator step reads no real row: no per-example gradients
            loss = generator_loss(discriminator, fake, labels)
            opt_g.zero_grad(set_to_none=True)
            loss.backward()
            opt_g.step()
            discriminator.enable_hooks()
            g_total += float(loss.item())
        self.private.optimizer.zero_grad(set_to_none=True)  # the generator step left plain gradients on D
        return {"d_loss": d_total / steps, "g_loss": g_total / steps}

    def state_dict(self) -> dict[str, Any]:
        return {"accountant": self.private.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.private.load_state_dict(state["accountant"])
