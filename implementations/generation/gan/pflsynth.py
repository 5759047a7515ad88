"""pFLSynth (Dalmaz et al., Medical Image Analysis 2024): personalised federated multi-contrast MRI synthesis.

What makes the paper that paper, and all this file holds:

- one synthesis generator for every site and every translation task (source -> target contrast): a
  *mapper* turns the one-hot site, source contrast and target contrast into a latent, and a
  *personalisation block* after each generator stage re-normalises the features from that latent (AdaIN)
  and re-weights their channels (AdaCW);
- *partial aggregation*: only the later generator stages and the mapper are averaged (weighted by site
  data, as ``train_pflsynth.py`` does with its ``model_9``..``model_15`` and ``mapper``); the earlier
  stages, all personalisation blocks and the discriminator never leave the site;
- sites differ implicitly (each its own "scanner" intensity scaling) and explicitly (each its own
  translation tasks); training is pix2pix-style (pGAN): an LSGAN pair discriminator plus ``lambda_l1`` L1.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import torch
from pydantic import Field, model_validator
from torch import nn
from torch.nn import functional

from fedgen_registry.catalog.claims import Check, Claim, ClaimRun
from fedgen_registry.federation.protocol import Client, Message, Server, State
from fedgen_registry.metrics.artefacts import save_image_grid
from fedgen_registry.models.paired import ConditionedDiscriminator
from fedgen_registry.models.style import ModulatedMLP
from fedgen_registry.objectives.gan import OptimConfig, adam
from fedgen_registry.registry import register
from fedgen_registry.strategies.fedavg import FedAvg, arrays_server, shared_arrays
from fedgen_registry.strategies.gan import GAN_LOSSES, STABLE_GAN_RECIPE
from fedgen_registry.tasks.image_gan import ImageGANAlgorithm, ImageGANConfig
from fedgen_registry.tasks.translation import (
    CONTRASTS,
    PIXELS,
    contrast,
    lsgan_loss,
    translation_quality,
)

TRAIN = "train.shared_stages"
TASKS = (("t1", "t2"), ("t2", "t1"), ("t1", "pd"), ("pd", "t1"))
"""Translation tasks; site ``k`` is prescribed tasks ``k`` and ``k + 1`` (cyclically)."""


class PFLSynthConfig(ImageGANConfig):
    local_steps: int = Field(5, ge=1, description="Local generator/discriminator updates per site per round.")
    depth: int = Field(4, ge=1, description="Hidden generator stages (each followed by a personalisation block).")
    shared_stages: int = Field(
        3, ge=1, description="How many of the last generator stages (output stage included) are averaged."
    )
    latent_dim: int = Field(32, ge=1, description="Size of the mapper's site-and-task latent.")
    lambda_l1: float = Field(100.0, ge=0, description="Weight of the L1 term (lambda_A 100 in the authors' script).")
    site_shift: float = Field(0.15, ge=0, lt=0.25, description="Intensity scaling step between sites' scanners.")

    @model_validator(mode="after")
    def _stages(self) -> PFLSynthConfig:
        if self.shared_stages > self.depth:
            raise ValueError("shared_stages must leave at least the first stage local (shared_stages <= depth)")
        if self.model.conditional:
            raise ValueError("pFLSynth conditions on the source image and the site/task code, not labels")
        return self


def site_tasks(site: int) -> list[tuple[str, str]]:
    return [TASKS[site % len(TASKS)], TASKS[(site + 1) % len(TASKS)]]


def scanner(images: torch.Tensor, site: int, shift: float) -> torch.Tensor:
    """The implicit domain shift of site ``site``: its scanner maps intensities into a narrower range."""
    return (images + 1.0) * (1.0 - shift * (site % len(TASKS))) - 1.0


class PersonalisedGenerator(nn.Module):
    """Mapper (site, source, target one-hots -> latent) and a body whose stages are modulated by that latent."""

    def __init__(self, sites: int, hidden: int, depth: int, latent_dim: int) -> None:
        super().__init__()
        self.sites = sites
        code = sites + 2 * len(CONTRASTS)
        self.mapper = nn.Sequential(
            nn.Linear(code, latent_dim), nn.LeakyReLU(0.2), nn.Linear(latent_dim, latent_dim), nn.LeakyReLU(0.2)
        )
        self.body = ModulatedMLP(PIXELS, hidden, PIXELS, depth, latent_dim, output="tanh", channel_weighting=True)

    def code(self, site: int, task: tuple[str, str], count: int) -> torch.Tensor:
        parts = [
            functional.one_hot(torch.tensor(site), self.sites),
            functional.one_hot(torch.tensor(CONTRASTS.index(task[0])), len(CONTRASTS)),
            functional.one_hot(torch.tensor(CONTRASTS.index(task[1])), len(CONTRASTS)),
        ]
        return torch.cat(parts).float().expand(count, -1)

    def forward(self, source: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        return self.body(source, self.mapper(code))


def shared_names(generator: PersonalisedGenerator, shared_stages: int) -> list[str]:
    """The mapper and the last ``shared_stages`` stages; personalisation blocks and early stages stay local."""
    stages = len(generator.body.stages)
    later = tuple(f"body.stages.{i}." for i in range(stages - shared_stages, stages))
    return [name for name in generator.state_dict() if name.startswith(("mapper.", *later))]


class SynthesisSite(Client):
    """A site's paired contrasts per task, its personalised generator and its private pair discriminator."""

    def __init__(
        self,
        site: int,
        pairs: dict[tuple[str, str], tuple[torch.Tensor, torch.Tensor]],
        generator: PersonalisedGenerator,
        discriminator: nn.Module,
        shared: Sequence[str],
        config: PFLSynthConfig,
    ) -> None:
        self.site, self.pairs, self.generator, self.discriminator = site, pairs, generator, discriminator
        self.shared, self.optim, self.config = tuple(shared), config.optim, config

    def handle(self, message: Message) -> Message:
        if message.message_type != TRAIN:
            raise ValueError(f"a pFLSynth site does not handle {message.message_type!r}")
        own = self.generator.state_dict()
        self.generator.load_state_dict({**own, **{name[2:]: value for name, value in message.arrays.items()}})
        losses = self.train(self.optim)
        arrays = {"g." + n: v.detach().clone() for n, v in self.generator.state_dict().items() if n in self.shared}
        size = sum(len(source) for source, _ in self.pairs.values())
        return Message(TRAIN, arrays, {"num_examples": size, **losses})

    def train(self, optim: OptimConfig) -> dict[str, float]:
        opt_g, opt_d = adam(self.generator, optim.lr_g, optim), adam(self.discriminator, optim.lr_d, optim)
        tasks = list(self.pairs)
        g_total = d_total = 0.0
        for _ in range(self.config.local_steps):
            task = tasks[int(torch.randint(len(tasks), ()))]
            source, target = self.pairs[task]
            index = torch.randint(len(source), (optim.batch_size,))
            source, target = source[index], target[index]
            fake = self.generator(source, self.generator.code(self.site, task, len(source)))
            g_loss = lsgan_loss(self.discriminator(fake, source), 1.0) + self.config.lambda_l1 * (
                (fake - target).abs().mean()
            )
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            d_loss = 0.5 * (
                lsgan_loss(self.discriminator(target, source), 1.0)
                + lsgan_loss(self.discriminator(fake.detach(), source), 0.0)
            )
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            g_total, d_total = g_total + float(g_loss.item()), d_total + float(d_loss.item())
        steps = self.config.local_steps
        return {"g_loss": g_total / steps, "d_loss": d_total / steps}

    def state_dict(self) -> State:
        return {"generator": self.generator.state_dict(), "discriminator": self.discriminator.state_dict()}

    def load_state_dict(self, state: State) -> None:
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])


SMOKE = {"rounds": 30, "clients": 4, "local_steps": 5}
QUALITY = {
    # pGAN's LSGAN and L1 losses are the paper's (not the recipe's hinge), its pair discriminator is a plain MLP
    # (model.spectral_norm is not read), and the generators stay personalised: no server EMA.
    **{key: value for key, value in STABLE_GAN_RECIPE.items() if key.startswith("optim.") and key != "optim.loss"},
    "model.hidden": STABLE_GAN_RECIPE["model.hidden"],
    "rounds": 40,
    "clients": 4,
    "local_steps": 25,
}
"""FedAvg-GAN's quality budget in local steps (4,000: 40 rounds x 4 sites x 25 steps of batch 64; a site reads its own
image tensors, not LocalData.batch, so the meter counts no rows). Four sites, one per scanner and task pair of the
cycle of TASKS, every site every round."""


@register(
    "pflsynth",
    config=PFLSynthConfig,
    family="gan",
    summary="pFLSynth: site/task-personalised synthesis generator; only its later stages and mapper are averaged.",
    presets={
        "smoke": SMOKE,
        "quality": QUALITY,
        "pflsynth-2022": {"rounds": 150, "clients": 4, "local_steps": 20, "lambda_l1": 100.0, "optim.batch_size": 1},
    },
    claim=Claim(
        statement="Averaging only the mapper and the later generator stages (3 of 5) gives each site's personalised "
        "model at least the SSIM and PSNR it reaches when all but the first stage are averaged.",
        runs={
            "pflsynth": ClaimRun(implementation="pflsynth"),
            "more-shared": ClaimRun(implementation="pflsynth", overrides={"shared_stages": 4}),
        },
        checks=[
            Check(metric="ssim", run="pflsynth", op=">=", against="more-shared"),
            Check(metric="psnr", run="pflsynth", op=">=", against="more-shared"),
        ],
        note="The paper shows pFLSynth ahead of prior federated synthesis methods on multi-site MRI; those baselines "
        "are not implemented for this task, so the check is its partial aggregation against sharing more of the "
        "same generator (4 of 5 stages, the most it allows: the first stage always stays local), on 4 toy sites "
        "with their own scanner scaling and tasks. Figures are means over sites and tasks on held-out aligned "
        "pairs; there is no KID.",
    ),
)
class PFLSynth(ImageGANAlgorithm[PFLSynthConfig]):
    uploads = MappingProxyType({"g.": "partial-parameters"})
    weighted_mean_upload = True
    flower_refusal = (
        "its evaluation reads the clients' own generators, which live on the Flower nodes, not on the server"
    )

    def __init__(self, config: PFLSynthConfig, run_dir: Any) -> None:
        super().__init__(config, run_dir)
        self.sites: dict[int, SynthesisSite] = {}

    def new_generator(self) -> PersonalisedGenerator:
        config = self.config
        return PersonalisedGenerator(config.clients, config.model.hidden, config.depth, config.latent_dim)

    def pairs(self, images: torch.Tensor, site: int) -> dict[tuple[str, str], tuple[torch.Tensor, torch.Tensor]]:
        scanned = {name: scanner(contrast(images, name), site, self.config.site_shift) for name in CONTRASTS}
        return {task: (scanned[task[0]], scanned[task[1]]) for task in site_tasks(site)}

    def make_server(self) -> FedAvg:
        template = self.new_generator()
        names = set(shared_names(template, self.config.shared_stages))
        arrays = {"g." + n: v for n, v in template.state_dict().items() if n in names}
        return arrays_server(arrays, self.config.clients_per_round, TRAIN, GAN_LOSSES)

    def make_client(self, client_id: int) -> SynthesisSite:
        generator = self.new_generator()
        site = SynthesisSite(
            client_id,
            self.pairs(torch.as_tensor(self.train.x[self.parts[client_id]]), client_id),
            generator,
            ConditionedDiscriminator(PIXELS, PIXELS, self.config.model.hidden),
            shared_names(generator, self.config.shared_stages),
            self.config,
        )
        self.sites[client_id] = site  # read by finish() to judge each site's personalised model
        return site

    def finish(self, server: Server) -> dict[str, Any]:
        """Each site's personalised model (its local stages with the final shared ones) on held-out pairs."""
        shared = shared_arrays(server)
        digits = torch.as_tensor(self.test.x)
        per_site: dict[str, dict[str, float]] = {}
        grid = []
        for cid, site in sorted(self.sites.items()):
            generator = shared.load_into(self.new_generator(), "g.")
            own = {k: v for k, v in site.generator.state_dict().items() if k not in site.shared}
            generator.load_state_dict({**generator.state_dict(), **own})
            for task, (source, target) in self.pairs(digits, cid).items():
                with torch.no_grad():
                    fake = generator(source, generator.code(cid, task, len(source)))
                per_site[f"site{cid}_{task[0]}_to_{task[1]}"] = translation_quality(fake, target)
                grid.extend([source[:4], target[:4], fake[:4]])
        save_image_grid(torch.cat(grid)[:96].numpy().reshape(-1, 8, 8), self.run_dir / "samples.png", columns=12)
        keys = ("mse", "psnr", "ssim")
        return {
            "evaluation": "personalised translation quality on held-out aligned pairs (mse, psnr dB, ssim); no kid",
            **{key: float(np.mean([m[key] for m in per_site.values()])) for key in keys},
            "per_site_task": per_site,
        }
