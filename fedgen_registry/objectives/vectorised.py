"""FedAvg-GAN local updates for many clients at once: one batched step per local step with ``torch.vmap``.

With many small clients, the per-client loop spends its time in Python and in launching tiny kernels.
The clients of a FedAvg round run the same networks for the same number of alternating steps with fresh
Adam optimisers, so they differ only in their starting arrays, their data and their random draws:
stacking their parameters along a leading client dimension turns the round into ``steps`` batched updates
(``torch.func.functional_call`` for the networks, ``vmap(grad_and_value(...))`` for the gradients).

Adam is element-wise, so it runs on the stacked tensors directly, with ``torch.optim.Adam``'s update
(no AMSGrad, no weight decay) and moments per client. ``vmap`` cannot draw each client's random numbers
the way its loop does, so each client first draws a :class:`LocalPlan` under its own seed, in exactly
the order :func:`~fedgen_registry.objectives.gan.train_steps` draws them (fake labels, latent vectors,
the real batch, step by step): the vectorised update then sees the same batches as the loop and differs
from it only by floating-point rounding (batched kernels sum in another order), which is why the engine
offers it as an explicit setting and not as the default.

Networks that keep buffers (spectral normalisation's power-iteration vectors, batch-norm statistics)
are refused by :func:`vectorising_refusal`: one vmapped update cannot keep a buffer per client.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call, grad_and_value, vmap

from fedgen_registry.data.local import LocalData
from fedgen_registry.objectives.gan import OptimConfig, discriminator_loss, fake_labels, generator_loss

Stacked = dict[str, torch.Tensor]
"""Parameters of many clients: each tensor has a leading client dimension."""


@dataclass(frozen=True)
class LocalPlan:
    """Every random draw of local steps: ``(steps, batch, ...)`` for one client, with a leading client axis
    once :func:`stack_plans` has joined several."""

    latent: torch.Tensor
    real: torch.Tensor
    real_labels: torch.Tensor | None
    fake_labels: torch.Tensor | None


def draw_plan(data: LocalData, steps: int, batch_size: int, latent_dim: int, conditional: bool) -> LocalPlan:
    """One client's draws under the caller's seeding, in :func:`train_steps`' order (so the loop's batches).

    Real rows come through :meth:`LocalData.batch`, so the run's sample meter counts them as the loop does.
    """
    latent, real, real_labels, labels = [], [], [], []
    for _ in range(steps):
        labels.append(fake_labels(batch_size, data.num_classes, conditional))
        latent.append(torch.randn(batch_size, latent_dim))
        x, y = data.batch(batch_size)
        real.append(x)
        real_labels.append(y)
    return LocalPlan(
        latent=torch.stack(latent),
        real=torch.stack(real),
        real_labels=torch.stack(real_labels) if conditional else None,
        fake_labels=torch.stack(labels) if conditional else None,  # type: ignore[arg-type]
    )


def stack_plans(plans: Sequence[LocalPlan]) -> LocalPlan:
    """Join one plan per client along a new leading client axis (all with the same steps and batch size)."""
    shapes = {tuple(plan.real.shape[:2]) for plan in plans}
    if len(shapes) != 1:
        raise ValueError(f"vectorised clients need the same local steps and batch size, got (steps, batch) {shapes}")

    def joined(name: str) -> torch.Tensor | None:
        values = [getattr(plan, name) for plan in plans]
        return None if values[0] is None else torch.stack(values)

    return LocalPlan(*(joined(name) for name in ("latent", "real", "real_labels", "fake_labels")))  # type: ignore[arg-type]


def vectorising_refusal(*modules: nn.Module) -> str:
    """Why these networks cannot be updated by one vmapped step per local step; empty when they can."""
    buffers = sorted({name for module in modules for name, _ in module.named_buffers()})
    if buffers:
        return (
            f"the networks keep buffers ({', '.join(buffers[:3])}{', ...' if len(buffers) > 3 else ''}: spectral "
            "norm's power-iteration vectors or batch-norm statistics), which one vmapped update cannot keep per client"
        )
    return ""


class _Adam:
    """``torch.optim.Adam``'s update on stacked parameters (element-wise, so batched for free)."""

    def __init__(self, params: Stacked, lr: float, optim: OptimConfig, eps: float = 1e-8) -> None:
        self.lr, self.beta1, self.beta2, self.eps = lr, optim.beta1, optim.beta2, eps
        self.exp_avg = {name: torch.zeros_like(value) for name, value in params.items()}
        self.exp_avg_sq = {name: torch.zeros_like(value) for name, value in params.items()}
        self.steps = 0

    def step(self, params: Stacked, grads: Stacked) -> Stacked:
        self.steps += 1
        step_size = self.lr / (1 - self.beta1**self.steps)
        bias_correction2_sqrt = (1 - self.beta2**self.steps) ** 0.5
        updated = {}
        for name, value in params.items():
            self.exp_avg[name].lerp_(grads[name], 1 - self.beta1)
            self.exp_avg_sq[name].mul_(self.beta2).addcmul_(grads[name], grads[name], value=1 - self.beta2)
            denom = (self.exp_avg_sq[name].sqrt() / bias_correction2_sqrt).add_(self.eps)
            updated[name] = value.addcdiv(self.exp_avg[name], denom, value=-step_size)
        return updated


def _caller(module: nn.Module, params: Stacked) -> Callable[..., torch.Tensor]:
    return lambda *args: functional_call(module, params, args)


@dataclass(frozen=True)
class VectorisedResult:
    """The clients' trained parameters (``g.`` and ``d.`` names, stacked) and their mean losses, ``(clients,)``."""

    arrays: Stacked
    d_loss: torch.Tensor
    g_loss: torch.Tensor


def vectorised_update(
    generator: nn.Module, discriminator: nn.Module, start: Stacked, plan: LocalPlan, optim: OptimConfig
) -> VectorisedResult:
    """All clients at once from their stacked ``start`` arrays: ``steps`` batched D then G updates.

    ``generator`` and ``discriminator`` only give the architecture (their own parameters are not used or
    changed). Each step has :func:`~fedgen_registry.objectives.gan.train_steps`' semantics: a discriminator
    step on the real batch against detached samples, then a generator step through the updated
    discriminator; the losses are the values before each update, averaged over the steps, as there.
    """
    refusal = vectorising_refusal(generator, discriminator)
    if refusal:
        raise ValueError(f"cannot vectorise: {refusal}")
    steps, loss_kind = plan.real.shape[1], optim.loss

    # Labels travel in a dict, empty for unconditional networks: vmap maps over tensors, not over None.
    def d_loss(d: Stacked, g: Stacked, latent: torch.Tensor, real: torch.Tensor, labels: Stacked) -> torch.Tensor:
        fake = _caller(generator, g)(latent, labels.get("fake")).detach()
        d_net = _caller(discriminator, d)
        return discriminator_loss(d_net, real, labels.get("real"), fake, labels.get("fake"), loss_kind)  # type: ignore[arg-type]

    def g_loss(g: Stacked, d: Stacked, latent: torch.Tensor, labels: Stacked) -> torch.Tensor:
        fake = _caller(generator, g)(latent, labels.get("fake"))
        return generator_loss(_caller(discriminator, d), fake, labels.get("fake"), loss_kind)  # type: ignore[arg-type]

    d_grads, g_grads = vmap(grad_and_value(d_loss)), vmap(grad_and_value(g_loss))
    g = {name[2:]: value for name, value in start.items() if name.startswith("g.")}
    d = {name[2:]: value for name, value in start.items() if name.startswith("d.")}
    opt_g, opt_d = _Adam(g, optim.lr_g, optim), _Adam(d, optim.lr_d, optim)
    d_total = g_total = torch.zeros(plan.real.shape[0])
    for step in range(steps):
        labels = {}
        if plan.fake_labels is not None and plan.real_labels is not None:
            labels = {"fake": plan.fake_labels[:, step], "real": plan.real_labels[:, step]}
        grads, loss = d_grads(d, g, plan.latent[:, step], plan.real[:, step], labels)
        d, d_total = opt_d.step(d, grads), d_total + loss.detach()
        grads, loss = g_grads(g, d, plan.latent[:, step], labels)
        g, g_total = opt_g.step(g, grads), g_total + loss.detach()
    arrays = {**{"g." + k: v for k, v in g.items()}, **{"d." + k: v for k, v in d.items()}}
    return VectorisedResult(arrays, d_total / steps, g_total / steps)
