"""Denoising diffusion (DDPM, Ho et al. 2020) with DDPM or DDIM sampling (Song et al. 2021), via diffusers.

The network is diffusers' ``UNet2DModel`` or an MLP on the flattened image
(:class:`~fedgen_registry.models.denoiser.MLPDenoiser`), trained at a uniformly drawn timestep to
predict either the noise added (the simple epsilon loss of DDPM) or the velocity
``v = sqrt(a_t) eps - sqrt(1 - a_t) x`` (v-prediction, Salimans and Ho 2022: the image it implies stays
well conditioned at high noise, where one recovered from a predicted epsilon is not; there it is used with
the cosine schedule of Nichol and Dhariwal 2021, diffusers' ``squaredcos_cap_v2``). diffusers defines both targets
(``DDPMScheduler.get_velocity``) and its schedulers read the prediction back (``prediction_type``).
Sampling runs ``DDPMScheduler`` (ancestral) or ``DDIMScheduler`` (``eta`` 0: deterministic, 1: DDPM-like)
over ``sample_steps`` of the training timesteps. Class conditioning adds a class embedding to the timestep
embedding (the UNet's own, or the MLP's). The UNet is small (no attention, two resolutions) so an 8x8
digits run fits a CPU; diffusers is imported only when a network or scheduler is built, so registering
an implementation stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn
from torch.nn import functional

if TYPE_CHECKING:
    from diffusers import DDIMScheduler, DDPMScheduler, UNet2DModel


class DiffusionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    architecture: Literal["unet", "mlp"] = Field(
        "unet", description="diffusers' UNet2DModel, or an MLP with residual blocks on the flattened image."
    )
    block_channels: tuple[int, ...] = Field((16, 32), min_length=1, description="UNet channels per resolution.")
    layers_per_block: int = Field(1, ge=1)
    norm_groups: int = Field(8, ge=1, description="Group-norm groups; must divide every block's channels.")
    width: int = Field(256, ge=1, description="MLP denoiser: features of every residual block.")
    blocks: int = Field(3, ge=1, description="MLP denoiser: residual blocks.")
    prediction_type: Literal["epsilon", "v_prediction"] = Field(
        "epsilon", description="What the network predicts: the noise (DDPM) or the velocity (Salimans and Ho 2022)."
    )
    conditional: bool = Field(False, description="Condition the UNet on the class label (class embedding).")
    train_timesteps: int = Field(1000, ge=2)
    beta_start: float = Field(1e-4, gt=0, lt=1)
    beta_end: float = Field(0.02, gt=0, lt=1)
    beta_schedule: Literal["linear", "scaled_linear", "squaredcos_cap_v2"] = "linear"
    sampler: Literal["ddpm", "ddim"] = "ddim"
    sample_steps: int = Field(50, ge=1, description="Denoising steps at sampling time (<= train_timesteps).")
    eta: float = Field(0.0, ge=0, le=1, description="DDIM noise scale (0: deterministic; 1: as DDPM).")

    @model_validator(mode="after")
    def _consistent(self) -> DiffusionConfig:
        if self.sample_steps > self.train_timesteps:
            raise ValueError(f"sample_steps {self.sample_steps} exceeds train_timesteps {self.train_timesteps}")
        if any(channels % self.norm_groups for channels in self.block_channels):
            raise ValueError(f"norm_groups {self.norm_groups} must divide every block's channels {self.block_channels}")
        return self

    def scheduler_settings(self) -> dict[str, Any]:
        return {
            "num_train_timesteps": self.train_timesteps,
            "beta_start": self.beta_start,
            "beta_end": self.beta_end,
            "beta_schedule": self.beta_schedule,
            "prediction_type": self.prediction_type,
        }


def build_unet(config: DiffusionConfig, shape: tuple[int, int, int], num_classes: int = 0) -> UNet2DModel:
    """A UNet for ``shape`` images; each block after the first halves the side, which must stay whole."""
    from diffusers import UNet2DModel

    channels, side, _ = shape
    halvings = len(config.block_channels) - 1
    if side % 2**halvings:
        raise ValueError(f"{len(config.block_channels)} UNet blocks halve the side {halvings} times; {side} cannot")
    blocks = len(config.block_channels)
    return UNet2DModel(
        sample_size=side,
        in_channels=channels,
        out_channels=channels,
        layers_per_block=config.layers_per_block,
        block_out_channels=config.block_channels,
        down_block_types=("DownBlock2D",) * blocks,
        up_block_types=("UpBlock2D",) * blocks,
        norm_num_groups=config.norm_groups,
        num_class_embeds=num_classes or None,
    )


def build_denoiser(config: DiffusionConfig, shape: tuple[int, int, int], num_classes: int = 0) -> nn.Module:
    """The configured network: both take and give images of ``shape`` at a batch of timesteps."""
    if config.architecture == "mlp":
        from fedgen_registry.models.denoiser import MLPDenoiser

        return MLPDenoiser(shape, config.width, config.blocks, num_classes)
    return build_unet(config, shape, num_classes)


def predict(model: nn.Module, images: torch.Tensor, steps: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """The network's prediction as a tensor (the UNet wraps it in an output object, the MLP does not)."""
    output = model(images, steps, class_labels=labels)
    return output if isinstance(output, torch.Tensor) else output.sample


def training_scheduler(config: DiffusionConfig) -> DDPMScheduler:
    from diffusers import DDPMScheduler

    return DDPMScheduler(**config.scheduler_settings())


def sampling_scheduler(config: DiffusionConfig) -> DDPMScheduler | DDIMScheduler:
    from diffusers import DDIMScheduler, DDPMScheduler

    scheduler = (DDIMScheduler if config.sampler == "ddim" else DDPMScheduler)(**config.scheduler_settings())
    scheduler.set_timesteps(config.sample_steps)
    return scheduler


def denoising_loss(
    model: nn.Module,
    scheduler: DDPMScheduler,
    images: torch.Tensor,
    labels: torch.Tensor | None,
) -> torch.Tensor:
    """E_{t, eps} ||target - f_theta(sqrt(a_t) x + sqrt(1 - a_t) eps, t)||^2 with t uniform over the training steps.

    The target is the noise ``eps``, or the velocity ``sqrt(a_t) eps - sqrt(1 - a_t) x`` under the
    scheduler's ``v_prediction``.
    """
    noise = torch.randn_like(images)
    steps = torch.randint(scheduler.config.num_train_timesteps, (len(images),))
    noisy = scheduler.add_noise(images, noise, steps)
    target = (
        scheduler.get_velocity(images, noise, steps) if scheduler.config.prediction_type == "v_prediction" else noise
    )
    return functional.mse_loss(predict(model, noisy, steps, labels), target)


@torch.no_grad()
def sample_images(
    model: nn.Module,
    scheduler: DDPMScheduler | DDIMScheduler,
    shape: tuple[int, int, int],
    count: int,
    labels: torch.Tensor | None,
    eta: float = 0.0,
) -> torch.Tensor:
    """Denoise pure noise along the scheduler's timesteps; images (count, *shape) clipped to [-1, 1]."""
    from diffusers import DDIMScheduler

    extra = {"eta": eta} if isinstance(scheduler, DDIMScheduler) else {}
    images = torch.randn(count, *shape)
    for step in scheduler.timesteps:
        prediction = predict(model, images, step, labels)
        images = scheduler.step(prediction, step, images, **extra).prev_sample
    return images.clamp(-1.0, 1.0)


class DiffusionFamily:
    """The DDPM as a :class:`~fedgen_registry.tasks.image_family.GenerativeFamily`."""

    def __init__(self, config: DiffusionConfig, shape: tuple[int, int, int], num_classes: int) -> None:
        self.config, self.shape, self.num_classes = config, shape, num_classes
        self.noise_schedule = training_scheduler(config)  # fixed for the run, so built once

    @property
    def conditional(self) -> bool:
        return self.config.conditional

    def build(self) -> nn.Module:
        return build_denoiser(self.config, self.shape, self.num_classes if self.conditional else 0)

    def loss(self, model: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        images = x.view(-1, *self.shape)
        loss = denoising_loss(model, self.noise_schedule, images, labels if self.conditional else None)
        return loss, {"loss": float(loss.item())}

    def sample(self, model: nn.Module, count: int, labels: torch.Tensor | None) -> torch.Tensor:
        scheduler = sampling_scheduler(self.config)
        return sample_images(model, scheduler, self.shape, count, labels, self.config.eta).flatten(1)
