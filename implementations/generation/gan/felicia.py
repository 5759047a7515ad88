"""FELICIA (Rajotte et al., 2021): local GANs coupled through a central adversary that sees only synthetic data.

What makes the paper that paper, and all this file holds: every data owner trains its own generator
and discriminator on its own rows; a *central privacy discriminator* at the server, trained only on the
owners' generated samples, learns to tell which owner produced a sample (the privacy discriminator of
PrivGAN, by the same group, federated). Each owner's generator is updated on its local adversarial
loss **plus** ``privacy_weight`` times the loss of making the central discriminator attribute its
samples to another owner (a random other one, as in PrivGAN's code). Generators that cannot be told
apart must cover each other's data, so an owner with few or biased rows borrows from the others
without seeing them. Only generated samples go up; only their gradients under the central loss come down.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType, SimpleNamespace
from typing import Any

import torch
from pydantic import Field, model_validator
from torch import nn
from torch.nn import functional

from fedgen_registry.catalog.claims import Check, Claim, ClaimRun
from fedgen_registry.data.local import LocalData
from fedgen_registry.federation.protocol import Client, Message, Server, State
from fedgen_registry.objectives.gan import (
    OptimConfig,
    OwnedPair,
    adam,
    discriminator_step,
    fake_labels,
    generate,
    generator_loss,
)
from fedgen_registry.registry import register
from fedgen_registry.strategies.gan import STABLE_GAN_RECIPE
from fedgen_registry.tasks.image_gan import ImageGANAlgorithm, ImageGANConfig

LOCAL = "train.local_gan"
PRIVACY = "train.privacy_feedback"


class FeliciaConfig(ImageGANConfig):
    disc_steps: int = Field(1, ge=1, description="Local discriminator updates per owner per round.")
    privacy_weight: float = Field(
        1.0, ge=0, description="Weight of the central adversary's loss (PrivGAN's privacy_ratio)."
    )
    privacy_delay: int = Field(0, ge=0, description="Rounds before the central discriminator starts training.")
    beneficiary: int = Field(0, ge=0, description="The owner whose generator the final evaluation samples.")

    @model_validator(mode="after")
    def _consistent(self) -> FeliciaConfig:
        if self.clients < 2:
            raise ValueError("FELICIA needs two or more data owners for the central adversary to tell apart")
        if self.beneficiary >= self.clients:
            raise ValueError(f"beneficiary {self.beneficiary} is not one of the {self.clients} owners")
        return self


def source_classifier(in_dim: int, hidden: int, owners: int) -> nn.Module:
    """The central adversary: a sample -> one logit per owner (which generator made it)."""
    return nn.Sequential(
        nn.Linear(in_dim, hidden),
        nn.LeakyReLU(0.2),
        nn.Linear(hidden, hidden),
        nn.LeakyReLU(0.2),
        nn.Linear(hidden, owners),
    )


class CentralAdversary(Server):
    """Trains the privacy discriminator on the owners' samples and returns each owner the gradient of its privacy loss."""

    def __init__(self, classifier: nn.Module, config: FeliciaConfig) -> None:
        self.classifier, self.config = classifier, config
        self.optimizer = adam(classifier, config.optim.lr_d, config.optim)
        self.clients_per_round = config.clients_per_round
        self._feedback: dict[int, torch.Tensor] = {}

    def stages(self, server_round: int) -> Sequence[str]:
        return ("local", "privacy")

    def configure(self, stage: str, server_round: int, clients: Sequence[int]) -> dict[int, Message]:
        if stage == "local":
            return {cid: Message(LOCAL, config={"disc_steps": self.config.disc_steps}) for cid in clients}
        return {cid: Message(PRIVACY, {"feedback": self._feedback[cid]}) for cid in clients if cid in self._feedback}

    def aggregate(self, stage: str, server_round: int, replies: Mapping[int, Message]) -> dict[str, float]:
        if stage == "privacy":
            self._feedback = {}
            return {"g_loss": sum(float(r.config["g_loss"]) for r in replies.values()) / len(replies)}
        order = sorted(replies)
        samples = {cid: replies[cid].arrays["samples"] for cid in order}
        metrics = {"d_loss": sum(float(replies[cid].config["d_loss"]) for cid in order) / len(order)}
        if server_round > self.config.privacy_delay:
            metrics |= self._train(samples)
        self._feedback = {cid: self._privacy_gradient(cid, x) for cid, x in samples.items()}
        return metrics

    def _train(self, samples: Mapping[int, torch.Tensor]) -> dict[str, float]:
        """One step of the classifier: which owner made each sample (it never sees a real row)."""
        inputs = torch.cat(list(samples.values()))
        sources = torch.cat([torch.full((len(x),), cid) for cid, x in samples.items()])
        logits = self.classifier(inputs)
        loss = functional.cross_entropy(logits, sources)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        accuracy = float((logits.argmax(1) == sources).float().mean())
        return {"adversary_loss": float(loss.item()), "adversary_accuracy": accuracy}

    def _privacy_gradient(self, owner: int, samples: torch.Tensor) -> torch.Tensor:
        """d/dx of privacy_weight * CE(adversary(x), a random other owner): pushes x to pass as someone else's."""
        others = torch.tensor([o for o in range(self.config.clients) if o != owner])
        targets = others[torch.randint(len(others), (len(samples),))]
        inputs = samples.detach().requires_grad_(True)
        loss = self.config.privacy_weight * functional.cross_entropy(self.classifier(inputs), targets)
        (gradient,) = torch.autograd.grad(loss, inputs)
        return gradient

    def state_dict(self) -> State:
        return {"classifier": self.classifier.state_dict(), "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: State) -> None:
        self.classifier.load_state_dict(state["classifier"])
        self.optimizer.load_state_dict(state["optimizer"])


class DataOwner(OwnedPair, Client):
    """A local GAN with persistent optimizers; its generator step adds the central adversary's feedback."""

    def __init__(
        self,
        data: LocalData,
        generator: nn.Module,
        discriminator: nn.Module,
        optim: OptimConfig,
        latent_dim: int,
        conditional: bool,
    ) -> None:
        OwnedPair.__init__(self, generator, discriminator, optim)
        self.data, self.latent_dim, self.conditional = data, latent_dim, conditional
        self._fake: torch.Tensor | None = None
        self._labels: torch.Tensor | None = None

    def handle(self, message: Message) -> Message:
        if message.message_type == LOCAL:
            return self._local(int(message.config["disc_steps"]))
        if message.message_type == PRIVACY:
            return self._generator_step(message.arrays["feedback"])
        raise ValueError(f"a FELICIA owner does not handle {message.message_type!r}")

    def _local(self, steps: int) -> Message:
        size = self.optim.batch_size
        d_loss = 0.0
        for _ in range(steps):
            labels = fake_labels(size, self.data.num_classes, self.conditional)
            with torch.no_grad():
                fake = generate(self.generator, size, self.latent_dim, labels)
            d_loss += discriminator_step(
                self.discriminator, self.opt_d, self.data, fake, labels, self.conditional, self.optim.loss
            )
        self._labels = fake_labels(size, self.data.num_classes, self.conditional)
        self._fake = generate(self.generator, size, self.latent_dim, self._labels)  # its graph waits for the feedback
        return Message(LOCAL, {"samples": self._fake.detach().clone()}, {"d_loss": d_loss / steps})

    def _generator_step(self, feedback: torch.Tensor) -> Message:
        if self._fake is None:
            raise ValueError("privacy feedback arrived before this owner shared samples")
        local = generator_loss(self.discriminator, self._fake, self._labels, self.optim.loss)
        self.opt_g.zero_grad(set_to_none=True)
        (local + (self._fake * feedback).sum()).backward()
        self.opt_g.step()
        self._fake = self._labels = None
        return Message(PRIVACY, config={"g_loss": float(local.item())})


QUALITY = {
    **{key: value for key, value in STABLE_GAN_RECIPE.items() if key != "ema"},  # the owners' generators: no server EMA
    "rounds": 2000,
    "clients": 2,
    "disc_steps": 1,
}
"""FedAvg-GAN's quality budget with the stable recipe on the local GANs: 2000 rounds x 2 owners x 1 discriminator step
x 64 rows = 256,000 real-row visits, 2000 generator steps per owner (FedAvg-GAN's 40 x 50 sequential steps). Two
owners, as the paper's experiments; the central adversary's cross-entropy is its own, not the recipe's hinge."""
BIASED = {"data.partition": "shards", "data.labels_per_client": 5}
"""Each owner holds half of the classes: the beneficiary's own rows miss the other half."""


@register(
    "felicia",
    config=FeliciaConfig,
    family="gan",
    summary="FELICIA: local GANs coupled by a central privacy discriminator trained only on synthetic samples.",
    presets={
        "smoke": {"rounds": 200, "clients": 3, "data.partition": "dirichlet", "data.alpha": 0.5},
        "quality": QUALITY,
        "felicia-2021": {"rounds": 2000, "clients": 2, "data.partition": "quantity", "data.alpha": 0.5},
    },
    claim=Claim(
        statement="An owner whose rows hold only half of the classes generates samples closer to the whole test set "
        "(higher recall, lower KID) with FELICIA's central adversary than with its own GAN alone.",
        runs={
            "felicia": ClaimRun(implementation="felicia", overrides=BIASED),
            "alone": ClaimRun(implementation="felicia", overrides={**BIASED, "privacy_weight": 0.0}),
        },
        checks=[
            Check(metric="recall", run="felicia", op=">", against="alone"),
            Check(metric="kid", run="felicia", op="<", against="alone"),
        ],
        note="The paper shows that an owner with limited, biased data benefits from the others, measured as the "
        "classification utility of its synthetic images on MNIST, CIFAR-10 and skin lesions; here two owners with "
        "disjoint halves of the 8x8 digit classes, the beneficiary's unconditional generator judged by recall and "
        "KID on the test digits of every class (no classifier utility is reported for unconditional samples). "
        "'alone' is the same run with privacy_weight 0: the central adversary's feedback is switched off.",
    ),
)
class Felicia(ImageGANAlgorithm[FeliciaConfig]):
    uploads = MappingProxyType({"samples": "synthetic-samples"})
    weighted_mean_upload = False
    flower_refusal = "a client keeps what a later stage of the round needs outside state_dict(), and a Flower node rebuilds the client for every message"

    def __init__(self, config: FeliciaConfig, run_dir: Path) -> None:
        super().__init__(config, run_dir)
        self.owners: dict[int, DataOwner] = {}

    def make_server(self) -> CentralAdversary:
        classifier = source_classifier(self.train.x.shape[1], self.config.model.hidden, self.config.clients)
        return CentralAdversary(classifier, self.config)

    def make_client(self, client_id: int) -> DataOwner:
        owner = DataOwner(
            self.client_data(client_id),
            self.new_generator(),
            self.new_discriminator(),
            self.config.optim,
            self.config.model.latent_dim,
            self.conditional,
        )
        self.owners[client_id] = owner
        return owner

    def finish(self, server: Server) -> dict[str, Any]:
        """The beneficiary's own generator is judged: FELICIA's gain is for the owner, there is no central one."""
        return super().finish(SimpleNamespace(generator=self.owners[self.config.beneficiary].generator))
