"""FedAvg of any image generative family: the family algorithm behind FedAvg-VAE and FedAvg-diffusion.

Each round the sampled clients start from the global network, run ``local_steps`` Adam steps (fresh
optimizer) on batches of their own rows, and return the network with their row count; the server is
:class:`~fedgen_registry.strategies.fedavg.FedAvg` of the one network (``model.``), weighted by row
count (McMahan et al. 2017). The task (:class:`~fedgen_registry.tasks.image_family.ImageFamilyTask`)
loads the data and judges the result. Two options make the quality recipes: a cosine learning rate over
the whole run (``optim.schedule``; each client's local step at its place in the run) and a moving average
of the global network on the server (``ema``, :class:`~fedgen_registry.strategies.averaging.AveragedFedAvg`),
judged in place of the last one. The VAE and diffusion instances, their configs and their presets
live here too, so that the federated algorithm and its centralized twin are built from the same parts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from types import MappingProxyType
from typing import Any, Literal, Protocol, TypeVar

import torch
from pydantic import Field
from torch import nn

from fedgen_registry.data.local import LocalData
from fedgen_registry.federation.arrays import load_module_arrays, module_arrays
from fedgen_registry.federation.protocol import Client, Message, Server
from fedgen_registry.objectives.diffusion import DiffusionConfig, DiffusionFamily
from fedgen_registry.objectives.vae import VAEConfig, VAEFamily
from fedgen_registry.strategies.averaging import AveragedFedAvg
from fedgen_registry.strategies.fedavg import TRAIN, FedAvg, Network
from fedgen_registry.tasks.image_family import AdamConfig, FamilyConfig, ImageFamilyTask

PREFIX = "model."
Schedule = Callable[[int, int], float]
"""The learning rate of a client's local step: (server round, local step) -> rate."""


class Objective(Protocol):
    """What one network is trained on: a loss on a batch, and the scalars to report (``loss`` among them).

    A generative family (:class:`~fedgen_registry.tasks.image_family.GenerativeFamily`) is one; so is a
    classifier's cross-entropy (:class:`~fedgen_registry.tasks.classification.CrossEntropy`).
    """

    def loss(
        self, model: nn.Module, x: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]: ...


def local_training(
    model: nn.Module,
    family: Objective,
    data: LocalData,
    optim: AdamConfig,
    steps: int,
    rate: Callable[[int], float] | None = None,
) -> dict[str, float]:
    """``steps`` Adam steps on batches drawn from ``data``; the mean of each reported scalar.

    ``rate`` gives each step's learning rate (None: ``optim.lr`` throughout).
    """
    optimizer = torch.optim.Adam(model.parameters(), lr=optim.lr, betas=(optim.beta1, optim.beta2))
    model.train()
    totals: dict[str, float] = {}
    for step in range(steps):
        if rate is not None:
            for group in optimizer.param_groups:
                group["lr"] = rate(step)
        x, labels = data.batch(optim.batch_size)
        loss, scalars = family.loss(model, x, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        for key, value in scalars.items():
            totals[key] = totals.get(key, 0.0) + value
    return {key: total / steps for key, total in totals.items()}


class FamilyClient(Client):
    """FedAvg's client of one network trained on an :class:`Objective`; stateless between rounds (its network
    is overwritten by every message). ``schedule`` sets each local step's learning rate from the round the
    message names (None: ``optim.lr``)."""

    def __init__(
        self,
        data: LocalData,
        model: nn.Module,
        family: Objective,
        optim: AdamConfig,
        local_steps: int,
        schedule: Schedule | None = None,
    ) -> None:
        self.data, self.model, self.family, self.optim, self.local_steps = data, model, family, optim, local_steps
        self.schedule = schedule

    def handle(self, message: Message) -> Message:
        if message.message_type != TRAIN:
            raise ValueError(f"a FedAvg client does not handle {message.message_type!r}")
        load_module_arrays(self.model, message.arrays, PREFIX)
        rate = None if self.schedule is None else partial(self.schedule, int(message.config["round"]))
        scalars = local_training(self.model, self.family, self.data, self.optim, self.local_steps, rate)
        return Message(TRAIN, module_arrays(self.model, PREFIX), {"num_examples": len(self.data.y), **scalars})


class FamilyOptimConfig(AdamConfig):
    schedule: Literal["constant", "cosine"] = Field(
        "constant",
        description="Learning rate over the run: constant, or a cosine decay from lr to 0 over rounds x local_steps "
        "(a client's step s of round r at (r - 1) * local_steps + s: the same curve for every client, and for the "
        "centralized twin one curve over all its steps).",
    )

    def rate(self, rounds: int, local_steps: int) -> Schedule | None:
        """The learning rate of local step ``s`` of round ``r`` (1-based), or None when it is constant."""
        if self.schedule == "constant":
            return None
        total = rounds * local_steps

        def cosine(server_round: int, step: int) -> float:
            return 0.5 * self.lr * (1.0 + math.cos(math.pi * ((server_round - 1) * local_steps + step) / total))

        return cosine


class FedAvgFamilyConfig(FamilyConfig):
    optim: FamilyOptimConfig = FamilyOptimConfig()
    ema: float | None = Field(
        None,
        ge=0,
        lt=1,
        description="Decay per round of the server's moving average of the global network, updated after every "
        "aggregate and judged in its place (None: judge the last global network).",
    )


ConfigT = TypeVar("ConfigT", bound=FedAvgFamilyConfig)


class FedAvgFamilyAlgorithm(ImageFamilyTask[ConfigT]):
    """The image task trained by FedAvg of the family's network; a subclass only names its family."""

    uploads = MappingProxyType({"model.": "model-parameters"})
    weighted_mean_upload = True

    def make_server(self) -> FedAvg:
        parts = {"model": (Network(self.family.build()), PREFIX)}
        if self.config.ema is not None:
            return AveragedFedAvg(parts, self.config.clients_per_round, "model", self.config.ema)
        return FedAvg(parts, self.config.clients_per_round)

    def make_client(self, client_id: int) -> FamilyClient:
        config = self.config
        return FamilyClient(
            self.client_data(client_id),
            self.family.build(),
            self.family,
            config.optim,
            config.local_steps,
            config.optim.rate(config.rounds, config.local_steps),
        )

    def finish(self, server: Server) -> dict[str, Any]:
        if isinstance(server, AveragedFedAvg):
            return self.judge(server.average.network)
        if not isinstance(server, FedAvg):
            raise TypeError(f"{type(server).__name__} holds no global network to evaluate")
        return self.judge(server.module("model"))


class FedAvgVAEConfig(FedAvgFamilyConfig):
    model: VAEConfig = VAEConfig()


class FedAvgVAEAlgorithm(FedAvgFamilyAlgorithm[FedAvgVAEConfig]):
    """FedAvg of a VAE (encoder and decoder) trained on the negative ELBO."""

    def make_family(self, shape: tuple[int, int, int], num_classes: int) -> VAEFamily:
        return VAEFamily(self.config.model, shape, num_classes)


CROSS_DEVICE = {"clients": 50, "clients_per_round": 10}
"""A stand-in for the cross-device papers (many small clients, a sample per round); not their numbers."""

FAMILY_QUALITY: dict[str, Any] = {
    "clients": 10,
    "clients_per_round": 2,
    "local_steps": 25,
    "optim.batch_size": 128,
    "optim.lr": 1e-3,
    "optim.schedule": "cosine",
}
"""What the VAE and diffusion quality presets share: 10 IID clients, 2 a round, 25 local steps of 128 rows, Adam at
1e-3 with a cosine decay over the whole run; each adds its rounds, server EMA and model."""

VAE_QUALITY: dict[str, Any] = {
    **FAMILY_QUALITY,
    "rounds": 60,
    "ema": 0.8,
    "model.decoder_std": 0.5,
}
"""The VAE recipe at its quality budget: 60 rounds x 2 of 10 IID clients x 25 steps of 128 rows (the centralized twin:
60 rounds x 50 steps, 3000 in all), Adam at 1e-3 with a cosine decay over the run, the server's moving average of
the weights (decay 0.8 a round), and a Gaussian decoder of standard deviation 0.5 in data units (pixels in [-1, 1]).
The decoder's spread sets how reconstruction weighs against the KL term; the bound stays a true ELBO for every
value (its normalising constant is included). At 3000 steps, seed 0, the twin's KID was 0.059 at the default 0.2,
0.027 at 0.3, 0.018 at 0.4, 0.015 at 0.5 and 0.018 at 0.6 (recall 0.94, 0.95, 0.94, 0.94, 0.89): a wider decoder
keeps the posterior near the prior, so prior samples look like the data; narrower ones (0.1: KID 0.15) blur it. A
learned spread (``model.learn_decoder_std``) settled near the reconstruction error and gave 0.066, a sampling
temperature of 0.8 lost recall (0.54 at spread 0.1); 16 latents instead of 8 changed little (0.0145)."""

VAE_PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {"rounds": 15, "clients": 10, "local_steps": 10},
    "quality": VAE_QUALITY,
    "fedvae-anomaly-ts-2021": CROSS_DEVICE,
    "fedvae-polato-2021": CROSS_DEVICE,
    "fedgen-predictive-maintenance-2024": {},
}
"""FedAvg-VAE's presets (the papers that run it with their settings), shared with its centralized twin."""


class FedAvgDiffusionConfig(FedAvgFamilyConfig):
    model: DiffusionConfig = DiffusionConfig()


class FedAvgDiffusionAlgorithm(FedAvgFamilyAlgorithm[FedAvgDiffusionConfig]):
    """FedAvg of a DDPM's noise-prediction UNet trained on the simple epsilon loss."""

    def make_family(self, shape: tuple[int, int, int], num_classes: int) -> DiffusionFamily:
        return DiffusionFamily(self.config.model, shape, num_classes)


DIFFUSION_QUALITY: dict[str, Any] = {
    **FAMILY_QUALITY,
    "rounds": 120,
    "ema": 0.9,
    "model.architecture": "mlp",
    "model.prediction_type": "v_prediction",
    "model.beta_schedule": "squaredcos_cap_v2",
    "model.sampler": "ddpm",
    "model.sample_steps": 250,
}
"""The diffusion recipe at its quality budget: 120 rounds x 2 of 10 IID clients x 25 steps of 128 rows (the twin: 120
rounds x 50 steps, 6000 in all) of the MLP denoiser (width 256, 3 residual blocks) predicting the velocity under
diffusers' cosine noise schedule, Adam at 1e-3 with a cosine decay, the server's moving average of the weights
(decay 0.9 a round), and DDPM's ancestral sampler on 250 of the 1000 steps. Measured on the twin, seed 0: DDIM's 50
deterministic steps left speckle on the background (KID 0.023 at 6000 steps, 0.055 at 3000), DDPM's 250 steps
gave 0.008 and its 1000 steps 0.0007 (recall 0.89, 0.91) for a slower sampler. With DDIM at 6000 steps an average decay
of 0.95 gave 0.025 and a rate of 2e-3 0.024; at 3000 steps epsilon prediction gave 0.137 against the velocity's
0.055, and DDPM's 1000 steps 0.037."""

DIFFUSION_PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {"rounds": 4, "clients": 4, "local_steps": 6, "model.sample_steps": 20},
    "quality": DIFFUSION_QUALITY,
    # Official repository YLTun/federated_diffusion_model, diffusion_fedavg.ipynb (Fashion-MNIST run):
    # 12 clients, Dirichlet(0.1), 3 local epochs, 300 rounds, lr 2e-4, 500 timesteps, eta 1.0.
    "fl-diffusion-privacy-vision-2023": {
        "rounds": 300,
        "clients": 12,
        "data.partition": "dirichlet",
        "data.alpha": 0.1,
        "local_steps": 6,
        "optim.lr": 2e-4,
        "model.train_timesteps": 500,
        "model.eta": 1.0,
    },
    # Official repository sattarov/FedTabDiff, main.py: 5 clients each holding one label value, 100 rounds,
    # 10 client epochs, batch 512, lr 1e-4, 500 diffusion steps, linear betas 1e-4 to 0.02.
    "fedtabdiff-2024": {
        "rounds": 100,
        "clients": 5,
        "data.partition": "shards",
        "data.labels_per_client": 2,
        "local_steps": 10,
        "optim.batch_size": 512,
        "optim.lr": 1e-4,
        "model.train_timesteps": 500,
        "model.beta_start": 1e-4,
        "model.beta_end": 0.02,
        "model.beta_schedule": "linear",
    },
    "fl-diffusion-chen-2024": {},
}
"""FedAvg-diffusion's presets (the studies that run it with their sources' settings), shared with its twin."""
