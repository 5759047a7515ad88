"""A central generator trained from the verdicts of discriminators that never leave their clients.

UA-GAN, F2U and AsynDGAN (and MD-GAN before them) share this shape: the server holds the only generator
and sends generated samples; each client trains its private discriminator on its own rows against them
and answers with a *verdict* on the samples it was asked to judge: the discriminator's logits and the
gradient of each logit with respect to its own sample. The papers differ only in how the server turns
the clients' logits into one generator loss (an average, an odds aggregation, the most forgiving
client, ...). With logits and their gradients the server can differentiate any such loss by the chain
rule without holding a discriminator:

    dL/dx_b = sum_k (dL/dlogit_kb) * (dlogit_kb/dx_b)

which is exact for discriminators that score each sample on its own (the MLPs here; no batch norm).
A paper's server subclasses :class:`CentralGeneratorServer` and writes :meth:`~CentralGeneratorServer.objective`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
from pydantic import Field
from torch import nn

from fedgen_registry.data.local import LocalData
from fedgen_registry.federation.protocol import Client, Message, Server, State
from fedgen_registry.objectives.gan import OptimConfig, adam, discriminator_step, fake_labels, generate
from fedgen_registry.tasks.image_gan import ImageGANConfig

JUDGE = "train.judge"


class CentralGANConfig(ImageGANConfig):
    """Settings of every central-generator algorithm."""

    disc_steps: int = Field(1, ge=1, description="Discriminator updates per client per round.")


@dataclass(frozen=True)
class Draw:
    """Generated samples for one client: ``fake_d`` to train its discriminator, ``fake_g`` (with graph) to judge."""

    fake_d: torch.Tensor
    fake_g: torch.Tensor
    cond_d: torch.Tensor | None = None
    cond_g: torch.Tensor | None = None


def judge(
    discriminator: nn.Module, samples: torch.Tensor, cond: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """A verdict: the logits on ``samples`` and, per sample, the gradient of its logit with respect to it."""
    inputs = samples.detach().requires_grad_(True)
    logits = discriminator(inputs, cond)
    (gradient,) = torch.autograd.grad(logits.sum(), inputs)
    return logits.detach(), gradient


def chain_rule(
    objective: Callable[[torch.Tensor], torch.Tensor], logits: torch.Tensor, logit_grads: torch.Tensor
) -> tuple[torch.Tensor, float]:
    """Feedback ``dL/dx`` per client (K, B, d) for a loss ``L`` of the stacked logits (K, B); and ``L``."""
    scores = logits.detach().requires_grad_(True)
    loss = objective(scores)
    (d_scores,) = torch.autograd.grad(loss, scores)
    return d_scores.unsqueeze(-1) * logit_grads, float(loss.item())


class CentralGeneratorServer(Server, ABC):
    """Holds the only generator (and its Adam state); one generator step per round from the clients' verdicts."""

    def __init__(self, generator: nn.Module, config: CentralGANConfig, num_classes: int) -> None:
        self.generator = generator
        self.optimizer = adam(generator, config.optim.lr_g, config.optim)
        self.config = config
        self.clients_per_round = config.clients_per_round
        self.num_classes = num_classes
        self._judged: dict[int, torch.Tensor] = {}

    @abstractmethod
    def objective(self, logits: torch.Tensor, replies: Sequence[Message]) -> torch.Tensor:
        """The generator loss as a function of the clients' logits (K, B), in the order of ``replies``."""

    def draw(self, clients: Sequence[int]) -> dict[int, Draw]:
        """By default every client trains on and judges the same two batches, so their verdicts can be combined per sample."""
        size, latent, conditional = (
            self.config.optim.batch_size,
            self.config.model.latent_dim,
            self.config.model.conditional,
        )
        cond_d, cond_g = (fake_labels(size, self.num_classes, conditional) for _ in range(2))
        with torch.no_grad():
            fake_d = generate(self.generator, size, latent, cond_d)
        shared = Draw(fake_d, generate(self.generator, size, latent, cond_g), cond_d, cond_g)
        return dict.fromkeys(clients, shared)

    def configure(self, stage: str, server_round: int, clients: Sequence[int]) -> dict[int, Message]:
        draws = self.draw(clients)
        self._judged = {cid: draw.fake_g for cid, draw in draws.items()}  # kept with its graph until the verdicts
        return {
            cid: Message(JUDGE, _draw_arrays(draw), {"disc_steps": self.config.disc_steps})
            for cid, draw in draws.items()
        }

    def feedback(self, order: Sequence[int], replies: Mapping[int, Message]) -> tuple[torch.Tensor, dict[str, float]]:
        """``dL/dx`` per client (K, B, d) by the chain rule through :meth:`objective`, and the round's metrics."""
        messages = [replies[cid] for cid in order]
        logits = torch.stack([m.arrays["logits"] for m in messages])
        grads = torch.stack([m.arrays["logit_grad"] for m in messages])
        feedback, g_loss = chain_rule(lambda scores: self.objective(scores, messages), logits, grads)
        d_loss = sum(float(m.config["d_loss"]) for m in messages) / len(messages)
        return feedback, {"d_loss": d_loss, "g_loss": g_loss}

    def aggregate(self, stage: str, server_round: int, replies: Mapping[int, Message]) -> dict[str, float]:
        order = sorted(replies)
        feedback, metrics = self.feedback(order, replies)
        surrogate = sum((self._judged[cid] * feedback[k]).sum() for k, cid in enumerate(order))
        self.optimizer.zero_grad(set_to_none=True)
        surrogate.backward()
        self.optimizer.step()
        self._judged = {}
        return metrics

    def state_dict(self) -> State:
        return {"generator": self.generator.state_dict(), "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: State) -> None:
        self.generator.load_state_dict(state["generator"])
        self.optimizer.load_state_dict(state["optimizer"])


def _draw_arrays(draw: Draw) -> dict[str, torch.Tensor]:
    arrays = {"fake_d": draw.fake_d.detach().clone(), "fake_g": draw.fake_g.detach().clone()}
    if draw.cond_d is not None and draw.cond_g is not None:
        arrays |= {"cond_d": draw.cond_d.clone(), "cond_g": draw.cond_g.clone()}
    return arrays


class DiscriminatorClient(Client):
    """A private discriminator (and its Adam state) trained on local rows; it answers with verdicts, never weights."""

    def __init__(self, data: LocalData, discriminator: nn.Module, optim: OptimConfig, conditional: bool) -> None:
        self.data, self.discriminator, self.optim, self.conditional = data, discriminator, optim, conditional
        self.optimizer = adam(discriminator, optim.lr_d, optim)

    def handle(self, message: Message) -> Message:
        if message.message_type != JUDGE:
            raise ValueError(f"{type(self).__name__} does not handle {message.message_type!r}")
        arrays = message.arrays
        d_loss = self.train_discriminator(arrays["fake_d"], arrays.get("cond_d"), int(message.config["disc_steps"]))
        logits, grads = judge(self.discriminator, arrays["fake_g"], arrays.get("cond_g"))
        return Message(
            JUDGE, {"logits": logits, "logit_grad": grads}, {"d_loss": d_loss, "num_examples": len(self.data.x)}
        )

    def train_discriminator(self, fake: torch.Tensor, cond: torch.Tensor | None, steps: int) -> float:
        """``steps`` updates against the same generated batch; the mean loss."""
        total = sum(
            discriminator_step(self.discriminator, self.optimizer, self.data, fake, cond, self.conditional)
            for _ in range(steps)
        )
        return total / steps

    def state_dict(self) -> State:
        return {"discriminator": self.discriminator.state_dict(), "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: State) -> None:
        self.discriminator.load_state_dict(state["discriminator"])
        self.optimizer = adam(self.discriminator, self.optim.lr_d, self.optim)
        self.optimizer.load_state_dict(state["optimizer"])
