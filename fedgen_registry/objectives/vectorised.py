"""FedAvg-GAN local updates for many clients at once: one batched step per local step with ``torch.vmap``.

With many small clients, the per-client loop spends its time in Python and in launching tiny kernels.
Every client of a FedAvg round starts from the same global networks and runs the same number of
alternating steps with fresh Adam optimisers, so the clients differ only in their data and random
draws: stacking their parameters along a leading client dimension turns the round into ``steps`` batched
updates (``torch.func.functional_call`` for the networks, ``vmap(grad_and_value(...))`` for the gradients).

Adam is element-wise, so it runs on the stacked tensors directly, with ``torch.optim.Adam``'s update
(no AMSGrad, no weight decay) and moments per client. The random draws (real batches, latent vectors,
fake labels) are made up front in a :class:`LocalPlan`, because ``vmap`` cannot draw per-client random
numbers the way each client's loop does; :func:`looped_update` consumes the same plan one client at a time
with ``torch.optim.Adam``, which is the reference the vectorised update must match. Each step has
:func:`~fedgen_registry.objectives.gan.train_steps`' semantics: a discriminator step on a real batch
against detached samples, then a generator step through the updated discriminator.

Unconditional networks only: the conditional MLPs one-hot their labels with ``functional.one_hot``,
which checks the label range with a data-dependent ``.item()`` that ``vmap`` refuses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call, grad_and_value, vmap

from fedgen_registry.data.local import LocalData
from fedgen_registry.objectives.gan import OptimConfig, adam, discriminator_loss, generator_loss

Stacked = dict[str, torch.Tensor]
"""Parameters of many clients: each tensor has a leading client dimension."""


@dataclass(frozen=True)
class LocalPlan:
    """Every random draw of a round's local updates; tensors are ``(clients, steps, batch, ...)``."""

    real: torch.Tensor
    latent: torch.Tensor
    num_examples: torch.Tensor  # (clients,): the FedAvg weights


def draw_plan(datas: Sequence[LocalData], steps: int, batch_size: int, latent_dim: int, seed: int) -> LocalPlan:
    """Real batches (drawn with replacement, as ``LocalData.batch``) and latent vectors."""
    rng = torch.Generator().manual_seed(seed)
    index = [torch.randint(len(data.y), (steps, batch_size), generator=rng) for data in datas]
    return LocalPlan(
        real=torch.stack([data.x[i] for data, i in zip(datas, index, strict=True)]),
        latent=torch.randn(len(datas), steps, batch_size, latent_dim, generator=rng),
        num_examples=torch.tensor([float(len(data.y)) for data in datas]),
    )


def looped_update(generator: nn.Module, discriminator: nn.Module, plan: LocalPlan, optim: OptimConfig) -> Stacked:
    """The reference: each client in turn, on copies of the global networks, with ``torch.optim.Adam``."""
    _check_unconditional(generator, discriminator)
    results: list[Stacked] = []
    start_g, start_d = _copy(generator), _copy(discriminator)
    for client in range(plan.real.shape[0]):
        generator.load_state_dict(start_g)
        discriminator.load_state_dict(start_d)
        opt_g, opt_d = adam(generator, optim.lr_g, optim), adam(discriminator, optim.lr_d, optim)
        for step in range(plan.real.shape[1]):
            fake = generator(plan.latent[client, step])
            loss_d = discriminator_loss(discriminator, plan.real[client, step], None, fake.detach(), None)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            loss_g = generator_loss(discriminator, fake, None)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
        results.append({**_named(generator, "g."), **_named(discriminator, "d.")})
    generator.load_state_dict(start_g)
    discriminator.load_state_dict(start_d)
    return {name: torch.stack([result[name] for result in results]) for name in results[0]}


def _check_unconditional(*modules: nn.Module) -> None:
    if any(getattr(module, "num_classes", 0) for module in modules):
        raise ValueError("vectorised updates need unconditional networks (one_hot cannot run under vmap)")


def _copy(module: nn.Module) -> dict[str, torch.Tensor]:
    """A copy: ``state_dict()`` shares storage with the parameters the optimisers change in place."""
    return {name: value.detach().clone() for name, value in module.state_dict().items()}


def _named(module: nn.Module, prefix: str) -> Stacked:
    return {prefix + name: value.detach().clone() for name, value in module.named_parameters()}


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


def vectorised_update(generator: nn.Module, discriminator: nn.Module, plan: LocalPlan, optim: OptimConfig) -> Stacked:
    """All clients at once: ``steps`` batched D and G updates on parameters stacked along the client axis."""
    _check_unconditional(generator, discriminator)
    clients, steps = plan.real.shape[:2]

    def stack(module: nn.Module) -> Stacked:
        return {name: p.detach().unsqueeze(0).repeat(clients, *[1] * p.dim()) for name, p in module.named_parameters()}

    def d_loss(d: Stacked, g: Stacked, real: torch.Tensor, latent: torch.Tensor) -> torch.Tensor:
        fake = _caller(generator, g)(latent).detach()
        return discriminator_loss(_caller(discriminator, d), real, None, fake, None)  # type: ignore[arg-type]

    def g_loss(g: Stacked, d: Stacked, latent: torch.Tensor) -> torch.Tensor:
        return generator_loss(_caller(discriminator, d), _caller(generator, g)(latent), None)  # type: ignore[arg-type]

    d_grads, g_grads = vmap(grad_and_value(d_loss)), vmap(grad_and_value(g_loss))
    g, d = stack(generator), stack(discriminator)
    opt_g, opt_d = _Adam(g, optim.lr_g, optim), _Adam(d, optim.lr_d, optim)
    for step in range(steps):
        grads, _ = d_grads(d, g, plan.real[:, step], plan.latent[:, step])
        d = opt_d.step(d, grads)
        grads, _ = g_grads(g, d, plan.latent[:, step])
        g = opt_g.step(g, grads)
    return {**{"g." + k: v for k, v in g.items()}, **{"d." + k: v for k, v in d.items()}}


def weighted_average(stacked: Stacked, weights: torch.Tensor) -> dict[str, torch.Tensor]:
    """FedAvg over the client axis, weighted by data size (float64 accumulation, as ``weighted_mean``)."""
    w = (weights / weights.sum()).to(torch.float64)
    return {
        name: torch.tensordot(w, value.to(torch.float64), dims=1).to(value.dtype) for name, value in stacked.items()
    }
