"""FedGIMP (Elmas et al., IEEE TMI 2022): federated learning of a generative MRI prior, then reconstruction.

What makes the paper that paper, and all this file holds:

- stage 1, federated prior: the sites train an *unconditional* style-based generator whose mapper turns
  noise and the one-hot site into a site-specific latent ``w``; each site trains it against its private
  discriminator on its own fully sampled images, and the server averages the generator (mapper
  included) weighted by site data, as the authors' training loop does; discriminators never travel;
- stage 2, reconstruction at the sites (the last round's ``reconstruct`` stage): the server sends the
  federated prior and each site reconstructs its own undersampled scans *locally*. Starting from its
  site's mean latent it adapts the latent *and a private copy of the generator's synthesis weights* per
  scan by minimising the k-space data-consistency loss ``rms(M F G(w) - y)`` (+ a small total-variation
  term, as the authors' singlecoil projector), then enforces data consistency on the sampled k-space
  points. Only scalar quality figures leave a site; the adapted weights and the images do not.

The imaging operator is an 8x8 FFT with a random variable-density undersampling mask per scan (the DC
component always kept), at ``acceleration`` = 64 / sampled points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType, SimpleNamespace
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn
from torch.func import functional_call, vmap
from torch.nn import functional

from fedgen_registry.catalog.claims import Check, Claim, ClaimRun
from fedgen_registry.data.local import LocalData
from fedgen_registry.federation.arrays import load_module_arrays, module_arrays
from fedgen_registry.federation.protocol import Client, Message, State
from fedgen_registry.models.paired import SIDE
from fedgen_registry.models.style import ModulatedMLP
from fedgen_registry.objectives.gan import OptimConfig, adam, discriminator_step, generator_loss
from fedgen_registry.registry import register
from fedgen_registry.strategies.fedavg import SHARED, Arrays, FedAvg, shared_arrays
from fedgen_registry.strategies.gan import FEDAVG_GAN_QUALITY, GAN_LOSSES, STABLE_GAN_RECIPE
from fedgen_registry.tasks.image_gan import ImageGANAlgorithm, ImageGANConfig
from fedgen_registry.tasks.translation import (
    PIXELS,
    prefixed,
    translation_quality,
)

TRAIN = "train.prior"
RECONSTRUCT = "query.reconstruct"
QUALITY = ("psnr", "ssim", "mse", "zero_filled_psnr", "zero_filled_ssim", "dc_loss_start", "dc_loss_end")


class ReconstructionConfig(BaseModel):
    """The inference stage: the imaging operator and the per-scan adaptation of the prior."""

    model_config = ConfigDict(extra="forbid")

    acceleration: float = Field(
        3.0, ge=1.0, le=64.0, description="64 / sampled k-space points (acc rate 3 in the code)."
    )
    steps: int = Field(100, ge=0, description="Adaptation steps per scan (1200 in the authors' projector).")
    lr: float = Field(0.01, gt=0, description="Adam rate of the latent and weight adaptation (0.01 in the code).")
    tv_weight: float = Field(1e-4, ge=0, description="Total-variation weight (1e-4 in the code).")
    scans_per_site: int = Field(8, ge=1, description="Held-out scans each site reconstructs.")


class FedGIMPConfig(ImageGANConfig):
    local_steps: int = Field(5, ge=1, description="Local D/G updates per site per round.")
    depth: int = Field(2, ge=1, description="Modulated stages of the synthesis network.")
    w_dim: int = Field(32, ge=1, description="Size of the mapper's latent w.")
    reconstruction: ReconstructionConfig = ReconstructionConfig()


class Synthesis(nn.Module):
    """A learned constant input whose features every stage re-styles from ``w`` (StyleGAN's synthesis network)."""

    def __init__(self, hidden: int, depth: int, w_dim: int) -> None:
        super().__init__()
        self.const = nn.Parameter(torch.randn(hidden))
        self.body = ModulatedMLP(hidden, hidden, PIXELS, depth, w_dim, output="tanh")

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return self.body(self.const.expand(len(w), -1), w)


class StylePrior(nn.Module):
    """Mapper (noise and one-hot site -> w) and synthesis (w -> image): the generative image prior."""

    def __init__(self, latent_dim: int, sites: int, hidden: int, depth: int, w_dim: int) -> None:
        super().__init__()
        self.sites = sites
        self.mapper = nn.Sequential(
            nn.Linear(latent_dim + sites, w_dim), nn.LeakyReLU(0.2), nn.Linear(w_dim, w_dim), nn.LeakyReLU(0.2)
        )
        self.synthesis = Synthesis(hidden, depth, w_dim)

    def latent(self, z: torch.Tensor, sites: torch.Tensor) -> torch.Tensor:
        return self.mapper(torch.cat([z, functional.one_hot(sites, self.sites).to(z.dtype)], dim=1))

    def forward(self, z: torch.Tensor, sites: torch.Tensor | None = None) -> torch.Tensor:
        if sites is None:
            raise ValueError("the prior draws a site-specific latent: give the site of each sample")
        return self.synthesis(self.latent(z, sites))

    def mean_latent(self, site: int, count: int = 256) -> torch.Tensor:
        with torch.no_grad():
            z = torch.randn(count, self.mapper[0].in_features - self.sites)
            return self.latent(z, torch.full((count,), site)).mean(dim=0)


# ------------------------------------------------------------------------------------ imaging operator


def undersampling_masks(count: int, acceleration: float) -> torch.Tensor:
    """(count, 8, 8) boolean k-space masks: variable density (near DC is likelier), DC always sampled.

    A frequency is sampled together with its mirror ``(-u, -v)``, so the measurements of a real image stay
    conjugate-symmetric and data consistency keeps them exactly; about ``64 / acceleration`` points each.
    """
    keep = max(1, round(PIXELS / acceleration))
    frequency = torch.fft.fftfreq(SIDE) * SIDE
    distance = torch.sqrt(frequency[:, None] ** 2 + frequency[None, :] ** 2).flatten()
    index = torch.arange(PIXELS)
    mirror = ((-(index // SIDE)) % SIDE) * SIDE + (-(index % SIDE)) % SIDE
    representatives = index[(index <= mirror) & (index > 0)]
    weights = 1.0 / (1.0 + distance[representatives])
    masks = torch.zeros(count, PIXELS, dtype=torch.bool)
    masks[:, 0] = True
    for mask in masks:
        for choice in representatives[torch.multinomial(weights, len(weights), replacement=False)]:
            if int(mask.sum()) >= keep:
                break
            mask[choice] = mask[mirror[choice]] = True
    return masks.view(count, SIDE, SIDE)


def kspace(images: torch.Tensor) -> torch.Tensor:
    return torch.fft.fft2(images.reshape(-1, SIDE, SIDE), norm="ortho")


def image(k: torch.Tensor) -> torch.Tensor:
    return torch.fft.ifft2(k, norm="ortho").real.flatten(1)


def data_consistency(images: torch.Tensor, measured: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Replace the sampled k-space points of ``images`` by the measured ones."""
    return image(torch.where(masks, measured, kspace(images)))


def dc_loss(images: torch.Tensor, measured: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Per-scan RMS error on the sampled k-space points (the projector's k-space loss)."""
    difference = (kspace(images) - measured) * masks
    return difference.abs().square().flatten(1).mean(dim=1).sqrt()


def total_variation(images: torch.Tensor) -> torch.Tensor:
    grid = images.reshape(-1, SIDE, SIDE)
    return (grid[:, 1:] - grid[:, :-1]).abs().sum(dim=(1, 2)) + (grid[:, :, 1:] - grid[:, :, :-1]).abs().sum(dim=(1, 2))


def reconstruct(
    prior: StylePrior, site: int, measured: torch.Tensor, masks: torch.Tensor, settings: ReconstructionConfig
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Adapt a latent and a private copy of the synthesis weights *per scan* to its measurements.

    Returns the data-consistent reconstructions and the data-consistency loss per scan before and after
    adaptation. ``prior`` itself is never modified: each scan gets its own copy of the weights (batched
    with ``torch.func.vmap``), as the projector re-initialises the generator for every cross-section.
    """
    count = len(measured)
    w = prior.mean_latent(site).expand(count, -1).clone().requires_grad_(True)
    weights = {
        name: p.detach().unsqueeze(0).repeat(count, *([1] * p.dim())).requires_grad_(True)
        for name, p in prior.synthesis.named_parameters()
    }
    optimizer = torch.optim.Adam([w, *weights.values()], lr=settings.lr)

    def one_scan(own: Mapping[str, torch.Tensor], latent: torch.Tensor) -> torch.Tensor:
        return functional_call(prior.synthesis, dict(own), (latent.unsqueeze(0),)).squeeze(0)

    synthesise = vmap(one_scan)
    with torch.no_grad():
        start = dc_loss(synthesise(weights, w), measured, masks)
    for _ in range(settings.steps):
        images = synthesise(weights, w)
        loss = (dc_loss(images, measured, masks) + settings.tv_weight * total_variation(images)).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        images = synthesise(weights, w)
        return data_consistency(images, measured, masks), start, dc_loss(images, measured, masks)


# ------------------------------------------------------------------------------------ federation


class PriorServer(FedAvg):
    """Averages the prior every round; in the last round also asks every site to reconstruct its scans."""

    def __init__(self, arrays: Mapping[str, torch.Tensor], clients_per_round: int | None, rounds: int) -> None:
        super().__init__({SHARED: (Arrays(arrays), "")}, clients_per_round, GAN_LOSSES, TRAIN)
        self.rounds = rounds
        self.reconstruction: dict[str, float] = {}

    def stages(self, server_round: int) -> Sequence[str]:
        return ("train", "reconstruct") if server_round == self.rounds else ("train",)

    def configure(self, stage: str, server_round: int, clients: Sequence[int]) -> dict[int, Message]:
        if stage == "reconstruct":
            return {cid: Message(RECONSTRUCT, self.arrays()) for cid in clients}
        return super().configure(stage, server_round, clients)

    def aggregate(self, stage: str, server_round: int, replies: Mapping[int, Message]) -> dict[str, float]:
        if stage == "train":
            return super().aggregate(stage, server_round, replies)
        scans = {cid: float(reply.config["num_scans"]) for cid, reply in replies.items()}
        total = sum(scans.values())
        self.reconstruction = {
            key: sum(float(replies[cid].config[key]) * n for cid, n in scans.items()) / total for key in QUALITY
        }
        return {f"recon_{key}": value for key, value in self.reconstruction.items()}

    def state_dict(self) -> State:
        return {**super().state_dict(), "reconstruction": dict(self.reconstruction)}

    def load_state_dict(self, state: State) -> None:
        super().load_state_dict(state)
        self.reconstruction = dict(state["reconstruction"])


class PriorSite(Client):
    """A site's fully sampled training images, private discriminator, and undersampled held-out scans."""

    def __init__(
        self,
        site: int,
        data: LocalData,
        prior: StylePrior,
        discriminator: nn.Module,
        scans: torch.Tensor,
        masks: torch.Tensor,
        config: FedGIMPConfig,
    ) -> None:
        self.site, self.data, self.prior, self.discriminator = site, data, prior, discriminator
        self.truth, self.masks, self.measured = scans, masks, kspace(scans) * masks
        self.config = config

    def handle(self, message: Message) -> Message:
        load_module_arrays(self.prior, message.arrays, "g.")
        if message.message_type == TRAIN:
            losses = self.train(self.config.optim)  # before the arrays are read
            return Message(TRAIN, module_arrays(self.prior, "g."), {"num_examples": len(self.data.y), **losses})
        if message.message_type == RECONSTRUCT:
            return Message(RECONSTRUCT, config={"num_scans": len(self.truth), **self.reconstruct()})
        raise ValueError(f"a FedGIMP site does not handle {message.message_type!r}")

    def train(self, optim: OptimConfig) -> dict[str, float]:
        opt_g, opt_d = adam(self.prior, optim.lr_g, optim), adam(self.discriminator, optim.lr_d, optim)
        size, latent = optim.batch_size, self.config.model.latent_dim
        sites = torch.full((size,), self.site)
        g_total = d_total = 0.0
        for _ in range(self.config.local_steps):
            fake = self.prior(torch.randn(size, latent), sites)
            d_total += discriminator_step(self.discriminator, opt_d, self.data, fake, None, False, optim.loss)
            loss = generator_loss(self.discriminator, fake, None, optim.loss)
            opt_g.zero_grad(set_to_none=True)
            loss.backward()
            opt_g.step()
            g_total += float(loss.item())
        return {"d_loss": d_total / self.config.local_steps, "g_loss": g_total / self.config.local_steps}

    def reconstruct(self) -> dict[str, float]:
        recon, start, end = reconstruct(self.prior, self.site, self.measured, self.masks, self.config.reconstruction)
        zero_filled = image(self.measured)
        return {
            **translation_quality(recon, self.truth),
            **prefixed(translation_quality(zero_filled, self.truth), "zero_filled"),
            "dc_loss_start": float(start.mean()),
            "dc_loss_end": float(end.mean()),
        }

    def state_dict(self) -> State:
        return {"discriminator": self.discriminator.state_dict()}

    def load_state_dict(self, state: State) -> None:
        self.discriminator.load_state_dict(state["discriminator"])


class SiteSampler(nn.Module):
    """The prior seen as an unconditional generator for KID: samples cycle through the sites."""

    def __init__(self, prior: StylePrior) -> None:
        super().__init__()
        self.prior = prior

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.prior(z, torch.arange(len(z)) % self.prior.sites)


SMOKE = {"rounds": 40, "clients": 3, "local_steps": 5, "reconstruction.steps": 200, "reconstruction.scans_per_site": 8}
QUALITY_PRESET = {
    **{key: FEDAVG_GAN_QUALITY[key] for key in ("rounds", "clients", "clients_per_round", "local_steps")},
    "optim.batch_size": STABLE_GAN_RECIPE["optim.batch_size"],
    "reconstruction.steps": 1200,
}
"""FedAvg-GAN's quality budget (40 rounds x 2 of 10 sites x 50 steps x 64 rows) with the default GAN settings, not
the stable recipe: with the recipe (spectral norm, hinge loss, Adam(0, 0.9) at 2e-4, width 256) the prior collapses
to one image and the adapted reconstructions fall below zero-filling (9.95 dB against 12.16, seed 0). The last
round's sampled sites adapt the prior to their held-out scans with the authors' 1200 projector steps."""


@register(
    "fedgimp",
    config=FedGIMPConfig,
    family="gan",
    summary="FedGIMP: federated style-GAN MRI prior with site latents; sites reconstruct undersampled k-space locally.",
    presets={
        "smoke": SMOKE,
        "quality": QUALITY_PRESET,
        "fedgimp-2022": {
            "rounds": 100,
            "clients": 3,
            "local_steps": 50,
            "data.partition": "dirichlet",
            "reconstruction.acceleration": 3.0,
            "reconstruction.steps": 1200,
            "reconstruction.scans_per_site": 30,
        },
    },
    claim=Claim(
        statement="Adapting the federated generative prior to each undersampled held-out scan reconstructs it better "
        "than zero-filling the measured k-space: higher PSNR and SSIM.",
        runs={"fedgimp": ClaimRun(implementation="fedgimp")},
        checks=[
            Check(
                metric="recon_psnr", run="fedgimp", op=">", against="fedgimp", against_metric="recon_zero_filled_psnr"
            ),
            Check(
                metric="recon_ssim", run="fedgimp", op=">", against="fedgimp", against_metric="recon_zero_filled_ssim"
            ),
        ],
        note="A proxy of FedGIMP's claim (Elmas et al. 2022) that a federated prior adapted per scan reconstructs MRI "
        "across sites and undersampling patterns: toy single-coil 8x8 k-space of held-out digits at acceleration 3, "
        "against the zero-filled floor rather than the paper's federated conditional baselines (not implemented). "
        "The prior's own samples are collapsed (KID 0.68, recall 0 at seed 0): the per-scan weight adaptation "
        "does the work.",
    ),
)
class FedGIMP(ImageGANAlgorithm[FedGIMPConfig]):
    uploads = MappingProxyType({"g.": "generator-parameters"})
    weighted_mean_upload = True

    def new_prior(self) -> StylePrior:
        config = self.config
        model = config.model
        return StylePrior(model.latent_dim, config.clients, model.hidden, config.depth, config.w_dim)

    def make_server(self) -> PriorServer:
        return PriorServer(module_arrays(self.new_prior(), "g."), self.config.clients_per_round, self.config.rounds)

    def make_client(self, client_id: int) -> PriorSite:
        rows = self.train.subset(self.parts[client_id])
        data = LocalData(torch.as_tensor(rows.x), torch.as_tensor(rows.y), self.train.num_classes)
        settings = self.config.reconstruction
        held_out = np.arange(client_id, len(self.test), self.config.clients)[: settings.scans_per_site]
        scans = torch.as_tensor(self.test.x[held_out])
        masks = undersampling_masks(len(scans), settings.acceleration)
        return PriorSite(client_id, data, self.new_prior(), self.new_discriminator(), scans, masks, self.config)

    def finish(self, server: Any) -> dict[str, Any]:
        if not isinstance(server, PriorServer):
            raise TypeError(f"{type(server).__name__} is not a FedGIMP server")
        prior = shared_arrays(server).load_into(self.new_prior(), "g.")
        return {
            "evaluation": "reconstruction of undersampled held-out scans at the sites (psnr dB, ssim, mse; "
            "zero_filled_* is the inverse FFT of the measurements); kid of the prior's samples",
            **{f"recon_{key}": value for key, value in server.reconstruction.items()},
            **super().finish(SimpleNamespace(generator=SiteSampler(prior))),
        }
