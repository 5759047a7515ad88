"""Image-to-image translation and MRI-style building blocks shared by the federated translation papers.

The medical translation papers (Federated CycleGAN, FedMed-GAN, FedMed-ATL, pFLSynth) and the MRI prior of
FedGIMP need the same few pieces, made here from the 8x8 digits without new data:

- *contrasts*: fixed transforms of one digit that play the part of MRI contrasts of one subject
  (``t1`` the digit, ``t2`` its inverted intensities, ``pd`` a 3x3 blur from :mod:`.gan_paired`), so
  every held-out digit gives an aligned ground-truth pair for judging a translation;
- :func:`affine`: rotations, shifts and scalings of 8x8 images (misaligned scans, self-supervised heads);
- :class:`StyleModulation` and :class:`ModulatedMLP`: features normalised per sample and re-scaled and
  shifted from a latent (AdaIN), optionally re-weighted per channel (AdaCW); the switchable generator of
  Federated CycleGAN, the personalisation blocks of pFLSynth and the style prior of FedGIMP are all
  MLPs modulated this way;
- :class:`SharedArraysServer`: a server that holds only the named arrays that travel and replaces them by
  the clients' data-size-weighted mean (generators only, or a generator's shared stages only);
- :class:`CycleGANSite`: a site holding both modalities unpaired that trains a local CycleGAN (two
  generators that travel, two discriminators that never leave), with hooks for a paper's additions;
- :func:`translation_quality`: MSE, PSNR and SSIM of translated against target images, and
  :class:`FixedSamples`, to pass translated images to the shared KID evaluation.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any, Literal, TypeVar

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn
from torch.nn import functional

from fedgen_registry.federation.arrays import load_module_arrays, module_arrays, weighted_mean
from fedgen_registry.federation.protocol import Client, Message, Server, State
from fedgen_registry.models.gan import MLPDiscriminator, MLPGenerator
from fedgen_registry.models.paired import SIDE, blurred
from fedgen_registry.objectives.gan import OptimConfig, adam
from fedgen_registry.strategies.gan import size_weighted
from fedgen_registry.tasks.image_gan import ImageGANAlgorithm, ImageGANConfig

CONTRASTS = ("t1", "t2", "pd")
Contrast = Literal["t1", "t2", "pd"]
DATA_RANGE = 2.0
"""Images live in [-1, 1]."""
PIXELS = SIDE * SIDE


def contrast(images: torch.Tensor, name: str) -> torch.Tensor:
    """(n, 64) digits in [-1, 1] -> the same subjects in contrast ``name`` (t1: as is, t2: inverted, pd: blurred)."""
    if name == "t1":
        return images
    if name == "t2":
        return -images
    if name == "pd":
        return blurred(images)
    raise ValueError(f"unknown contrast {name!r}; known: {', '.join(CONTRASTS)}")


def affine(images: torch.Tensor, angle: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Rotate by ``angle`` degrees, zoom by ``scale`` and move by ``shift`` (n, 2) in image-width fractions.

    Per image (bilinear); uncovered pixels are background (-1), as outside the head in a scan.
    """
    radians = angle * math.pi / 180.0
    cos, sin = torch.cos(radians) / scale, torch.sin(radians) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, -2.0 * shift[:, 0]], dim=1), torch.stack([sin, cos, -2.0 * shift[:, 1]], dim=1)],
        dim=1,
    )
    grid = functional.affine_grid(theta, [len(images), 1, SIDE, SIDE], align_corners=False)
    moved = functional.grid_sample(images.view(-1, 1, SIDE, SIDE) + 1.0, grid, align_corners=False)
    return moved.flatten(1) - 1.0


def lsgan_loss(prediction: torch.Tensor, target: float) -> torch.Tensor:
    """The least-squares GAN loss that CycleGAN, pix2pix and their federated versions use."""
    return (prediction - target).square().mean()


# --------------------------------------------------------------------------------------------- networks


class StyleModulation(nn.Module):
    """AdaIN for MLP features: normalise each sample's features, then scale and shift them from latent ``w``;
    with ``channel_weighting`` also multiply each feature by a gate in (0, 1) from ``w`` (pFLSynth's AdaCW)."""

    def __init__(self, channels: int, latent_dim: int, channel_weighting: bool = False) -> None:
        super().__init__()
        self.style = nn.Linear(latent_dim, 2 * channels)
        self.weighting = nn.Sequential(nn.Linear(latent_dim, channels), nn.Sigmoid()) if channel_weighting else None

    def forward(self, features: torch.Tensor, latent: torch.Tensor) -> torch.Tensor:
        normalised = functional.layer_norm(features, features.shape[-1:])
        scale, shift = self.style(latent).chunk(2, dim=-1)
        out = normalised * (1.0 + scale) + shift
        return out if self.weighting is None else out * self.weighting(latent)


class ModulatedMLP(nn.Module):
    """``stages`` (Linear layers, the last one the output) with a :class:`StyleModulation` after each hidden one.

    ``output="tanh"`` gives an image, ``"logit"`` one score per row. Stage ``i`` is named ``stages.i`` and its
    modulation ``modulations.i``, so a personalised scheme can share some stages and keep the rest.
    """

    def __init__(
        self,
        in_dim: int,
        hidden: int,
        out_dim: int,
        depth: int,
        latent_dim: int,
        output: str = "tanh",
        channel_weighting: bool = False,
    ) -> None:
        super().__init__()
        if output not in ("tanh", "logit"):
            raise ValueError(f"output must be 'tanh' or 'logit', got {output!r}")
        widths = [in_dim] + [hidden] * depth + [out_dim]
        self.stages = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(widths))
        self.modulations = nn.ModuleList(StyleModulation(hidden, latent_dim, channel_weighting) for _ in range(depth))
        self.output = output

    def forward(self, x: torch.Tensor, latent: torch.Tensor) -> torch.Tensor:
        h = x
        for stage, modulation in zip(self.stages, self.modulations, strict=False):
            h = functional.leaky_relu(modulation(stage(h), latent), 0.2)
        out = self.stages[-1](h)
        return torch.tanh(out) if self.output == "tanh" else out.squeeze(-1)


class FixedSamples(nn.Module):
    """A stand-in generator that returns given images in turn, so translated images reach the shared KID code."""

    def __init__(self, samples: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("samples", samples)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.samples[torch.arange(len(z)) % len(self.samples)]


# --------------------------------------------------------------------------------------------- metrics


def ssim(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean SSIM per image (Wang et al. 2004) with 3x3 uniform windows, which fit an 8x8 image.

    Computed on intensities mapped to [0, 1] (data range 1): SSIM's luminance term assumes non-negative
    intensities, and on [-1, 1] an inverted image would score high (two negative factors).
    """
    c1, c2 = 0.01**2, 0.03**2
    x = (prediction.view(-1, 1, SIDE, SIDE).double() + 1.0) / DATA_RANGE
    y = (target.view(-1, 1, SIDE, SIDE).double() + 1.0) / DATA_RANGE

    def pool(t: torch.Tensor) -> torch.Tensor:
        return functional.avg_pool2d(t, 3, stride=1)

    mu_x, mu_y = pool(x), pool(y)
    var_x, var_y = pool(x * x) - mu_x**2, pool(y * y) - mu_y**2
    cov = pool(x * y) - mu_x * mu_y
    index = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return index.flatten(1).mean(dim=1)


def translation_quality(prediction: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """MSE, PSNR (dB, data range 2, averaged per image) and SSIM of predicted against target images."""
    error = (prediction.double() - target.double()).square().flatten(1).mean(dim=1)
    psnr = 10.0 * torch.log10(DATA_RANGE**2 / error.clamp_min(1e-10))
    return {"mse": float(error.mean()), "psnr": float(psnr.mean()), "ssim": float(ssim(prediction, target).mean())}


def prefixed(metrics: Mapping[str, float], prefix: str) -> dict[str, float]:
    return {f"{prefix}_{key}": value for key, value in metrics.items()}


# --------------------------------------------------------------------------------------------- federation


class SharedArraysServer(Server):
    """Holds only the arrays that travel; each round sends them and keeps the replies' data-size-weighted mean.

    The clients keep everything else (discriminators, personal stages) as private state, so nothing but
    ``arrays`` can ever be in a message this server sends, and it reads only those names back.
    """

    def __init__(
        self,
        arrays: Mapping[str, torch.Tensor],
        message_type: str,
        clients_per_round: int | None,
        reported: Sequence[str] = ("d_loss", "g_loss"),
    ) -> None:
        self.arrays = {name: value.detach().clone() for name, value in arrays.items()}
        self.message_type, self.clients_per_round, self.reported = message_type, clients_per_round, tuple(reported)

    def configure(self, stage: str, server_round: int, clients: Sequence[int]) -> dict[int, Message]:
        return {cid: Message(self.message_type, dict(self.arrays), {"round": server_round}) for cid in clients}

    def aggregate(self, stage: str, server_round: int, replies: Mapping[int, Message]) -> dict[str, float]:
        order = sorted(replies)
        if any(set(replies[cid].arrays) != set(self.arrays) for cid in order):
            raise ValueError("a client returned other arrays than the shared ones it was sent")
        sizes = [float(replies[cid].config["num_examples"]) for cid in order]
        self.arrays = weighted_mean([replies[cid].arrays for cid in order], sizes)
        return size_weighted(replies, order, self.reported)

    def load_into(self, module: nn.Module, prefix: str) -> nn.Module:
        """Load the shared arrays named ``prefix + name`` over ``module``'s own entries (for evaluation)."""
        own = module.state_dict()
        own.update({name[len(prefix) :]: v for name, v in self.arrays.items() if name.startswith(prefix)})
        module.load_state_dict(own)
        return module

    def state_dict(self) -> State:
        return {"arrays": dict(self.arrays)}

    def load_state_dict(self, state: State) -> None:
        self.arrays = dict(state["arrays"])


class CycleSettings(BaseModel):
    """Loss weights of a local CycleGAN (Zhu et al. 2017)."""

    model_config = ConfigDict(extra="forbid")

    lambda_cyc: float = Field(10.0, ge=0, description="Weight of the cycle-consistency L1 term.")
    lambda_identity: float = Field(0.0, ge=0, description="Weight of the identity L1 term (0: off).")


CYCLE = "train.cycle_generators"
GENERATORS = ("g_ab.", "g_ba.")


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


class TranslationConfig(ImageGANConfig):
    """What every translation implementation adds: the two contrasts and the local steps per round."""

    source: Contrast = Field("t1", description="Contrast of modality a (t1: the digit, t2: inverted, pd: blurred).")
    target: Contrast = Field("t2", description="Contrast of modality b.")
    local_steps: int = Field(5, ge=1, description="Local generator/discriminator updates per client per round.")

    @model_validator(mode="after")
    def _two_contrasts(self) -> TranslationConfig:
        if self.source == self.target:
            raise ValueError("source and target must be different contrasts")
        if self.model.conditional:
            raise ValueError("translation networks condition on images, not labels: leave model.conditional false")
        return self


TranslationConfigT = TypeVar("TranslationConfigT", bound=TranslationConfig)


class TranslationAlgorithm(ImageGANAlgorithm[TranslationConfigT]):
    """Judges translation on held-out *aligned* pairs: every test digit in both contrasts.

    Reports MSE/PSNR/SSIM of ``a -> b`` and ``b -> a`` against the true other contrast, the same numbers for
    the untranslated input (``identity_*``, the floor a translator must beat), and the shared KID of the
    translations that land in the digit contrast (t1), with ``samples.png`` showing them.
    """

    def judge(
        self, a_to_b: Callable[[torch.Tensor], torch.Tensor], b_to_a: Callable[[torch.Tensor], torch.Tensor]
    ) -> dict[str, Any]:
        digits = torch.as_tensor(self.test.x)
        a, b = contrast(digits, self.config.source), contrast(digits, self.config.target)
        with torch.no_grad():
            fake_b, fake_a = a_to_b(a), b_to_a(b)
        metrics: dict[str, Any] = {
            "evaluation": "translation quality on held-out aligned pairs (mse, psnr dB, ssim); kid on t1 outputs",
            **prefixed(translation_quality(fake_b, b), "a2b"),
            **prefixed(translation_quality(fake_a, a), "b2a"),
            **prefixed(translation_quality(a, b), "identity_a2b"),
        }
        in_digits = fake_a if self.config.source == "t1" else fake_b if self.config.target == "t1" else None
        if in_digits is not None:
            metrics |= super().finish(SimpleNamespace(generator=FixedSamples(in_digits)))  # type: ignore[arg-type]
        return metrics


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

    def make_server(self) -> SharedArraysServer:
        arrays = cycle_generator_arrays(self.new_translator(), self.new_translator())
        return SharedArraysServer(arrays, CYCLE, self.config.clients_per_round)

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
        if not isinstance(server, SharedArraysServer):
            raise TypeError(f"{type(server).__name__} does not hold shared generators")
        g_ab = server.load_into(self.new_translator(), "g_ab.")
        g_ba = server.load_into(self.new_translator(), "g_ba.")
        return self.judge(g_ab, g_ba)
