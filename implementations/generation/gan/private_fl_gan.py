"""Private FL-GAN (Xin et al., ICASSP 2020; Neurocomputing 2022): the critic's Lipschitz limit is the DP sensitivity.

What makes the papers those papers, and all this file holds:

- clients train a WGAN whose critic is kept Lipschitz by clipping every weight to ``[-c, c]``; for a critic
  built of linear layers and 1-Lipschitz activations on inputs in ``[-1, 1]``, that limit bounds every
  record's gradient by ``c_g`` (:func:`gradient_bound`), so the critic's gradient on a Poisson batch of real
  rows already has sensitivity ``c_g``: Gaussian noise of std ``sigma c_g`` makes each critic step DP with **no
  per-example clipping** (the papers' point, after DPGAN of Xie et al. 2018); the generator only sees the
  critic, so it is private by post-processing;
- the ICASSP version federates by averaging (``schedule: parallel``: every sampled client trains the global
  G and critic, the server averages them by data size); the journal version adds a serialised schedule
  (``schedule: serial``): within a round the model visits the sampled clients one after another, each
  continuing from the previous one, relayed by the server;
- ``privacy.json``: each client's PLD accounting (RDP beside) of its Poisson-sampled Gaussian critic steps (the
  worst client's epsilon for the run), with ``clipping_norm`` the Lipschitz-derived bound ``c_g``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from fedgen_registry.catalog.claims import ClaimRun, parity_claim
from fedgen_registry.data.local import LocalData
from fedgen_registry.federation.arrays import load_module_arrays, size_weighted, weighted_mean
from fedgen_registry.federation.protocol import Client, Message, Server, State
from fedgen_registry.mechanisms.privacy import accounting
from fedgen_registry.mechanisms.privacy.calibration import ReleasePlan
from fedgen_registry.mechanisms.privacy.ledger import PrivacyLedger, write_ledger
from fedgen_registry.objectives.gan import fake_labels, generate
from fedgen_registry.registry import register
from fedgen_registry.strategies.gan import FEDAVG_GAN_QUALITY, STABLE_GAN_RECIPE, PairServer, pair_arrays
from fedgen_registry.tasks.image_gan import ImageGANAlgorithm, ImageGANConfig

ACCOUNTANT = (
    f"{accounting.HEADLINE} per client: SelfComposed(PoissonSampled(q, Gaussian(sigma)), critic steps); "
    "the run's is the worst client's"
)


class LipschitzDPConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weight_clip: float = Field(
        0.01, gt=0, description="c: every critic weight is kept in [-c, c] (the Lipschitz limit)."
    )
    noise_multiplier: float = Field(1.0, ge=0, description="sigma: noise std over the gradient bound c_g.")
    delta: float = Field(1e-5, gt=0, lt=1)


class PrivateFLGANConfig(ImageGANConfig):
    schedule: Literal["parallel", "serial"] = Field(
        "parallel", description="parallel: average the clients' models; serial: the model visits them in turn."
    )
    local_steps: int = Field(5, ge=1, description="Generator steps per client visit.")
    critic_steps: int = Field(2, ge=1, description="Private critic steps per generator step.")
    dp: LipschitzDPConfig = LipschitzDPConfig()


def clip_weights(critic: nn.Module, bound: float) -> None:
    """The WGAN Lipschitz limit: every critic parameter clamped into ``[-bound, bound]``."""
    with torch.no_grad():
        for parameter in critic.parameters():
            parameter.clamp_(-bound, bound)


def gradient_bound(critic: nn.Module, weight_clip: float, input_norm: float) -> float:
    """``c_g``: a bound on ``||d D(x) / d theta||`` for every input with ``||x|| <= input_norm``.

    For linear layers with entries in ``[-c, c]`` (spectral norm at most ``c sqrt(out * in)``, bias norm at most
    ``c sqrt(out)``) between activations with ``|a(t)| <= |t|`` and ``|a'| <= 1`` (LeakyReLU), the forward pass
    bounds each layer's input norm and the backward pass each layer's error norm; a layer contributes
    ``error * sqrt(input^2 + 1)`` (weight and bias gradients).
    """
    layers = [m for m in critic.modules() if isinstance(m, nn.Linear)]
    activations = [m for m in critic.modules() if not isinstance(m, nn.Linear) and not list(m.children())]
    if any(not isinstance(a, nn.LeakyReLU) or a.negative_slope > 1 for a in activations):
        raise ValueError("the bound needs linear layers between LeakyReLU activations")
    inputs, norm = [], input_norm
    for layer in layers:
        inputs.append(norm)
        spectral = weight_clip * math.sqrt(layer.out_features * layer.in_features)
        norm = spectral * norm + weight_clip * math.sqrt(layer.out_features)
    total, error = 0.0, 1.0  # the critic's output is one score per row
    for layer, norm in zip(reversed(layers), reversed(inputs), strict=True):
        total += error**2 * (norm**2 + 1)
        error *= weight_clip * math.sqrt(layer.out_features * layer.in_features)
    return math.sqrt(total)


class PrivateFLGANClient(Client):
    """Trains the received G and weight-clipped critic; critic steps on real rows carry Gaussian noise."""

    def __init__(self, data: LocalData, generator: nn.Module, critic: nn.Module, config: PrivateFLGANConfig) -> None:
        self.data, self.generator, self.critic, self.config = data, generator, critic, config
        self.sample_rate = min(1.0, config.optim.batch_size / len(data.y))
        input_norm = math.sqrt(data.x.shape[1] + (1 if config.model.conditional else 0))
        self.bound = gradient_bound(critic, config.dp.weight_clip, input_norm)
        self.steps = 0

    def handle(self, message: Message) -> Message:
        if message.message_type != PairServer.message_type:
            raise ValueError(f"a Private FL-GAN client does not handle {message.message_type!r}")
        load_module_arrays(self.generator, message.arrays, "g.")
        load_module_arrays(self.critic, message.arrays, "d.")
        optim = self.config.optim
        opt_g = torch.optim.RMSprop(self.generator.parameters(), lr=optim.lr_g)
        opt_d = torch.optim.RMSprop(self.critic.parameters(), lr=optim.lr_d)
        g_total = 0.0
        for _ in range(self.config.local_steps):
            for _ in range(self.config.critic_steps):
                self.critic_step(opt_d)
            labels = fake_labels(optim.batch_size, self.data.num_classes, self.config.model.conditional)
            loss = -self.critic(
                generate(self.generator, optim.batch_size, self.config.model.latent_dim, labels), labels
            ).mean()
            opt_g.zero_grad(set_to_none=True)
            loss.backward()
            opt_g.step()
            g_total += float(loss.item())
        arrays = pair_arrays(self.generator, self.critic)
        return Message(
            message.message_type,
            arrays,
            {"num_examples": len(self.data.y), "g_loss": g_total / self.config.local_steps},
        )

    def critic_step(self, optimizer: torch.optim.Optimizer) -> None:
        """One DP critic step: ``(sum_i grad -D(x_i) + N(0, (sigma c_g)^2)) / (q n)`` plus the generated half, then
        the weight clip that keeps ``c_g`` a valid sensitivity for the next step."""
        clip_weights(self.critic, self.config.dp.weight_clip)  # c_g holds only for clipped weights
        chosen = torch.rand(len(self.data.y)) < self.sample_rate  # Poisson sampling, as the accountant assumes
        real, real_labels = self.data.x[chosen], self.data.y[chosen] if self.config.model.conditional else None
        expected = self.sample_rate * len(self.data.y)
        size, conditional = self.config.optim.batch_size, self.config.model.conditional
        labels = fake_labels(size, self.data.num_classes, conditional)
        with torch.no_grad():
            fake = generate(self.generator, size, self.config.model.latent_dim, labels)
        loss = -self.critic(real, real_labels).sum() / expected + self.critic(fake, labels).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        std = self.config.dp.noise_multiplier * self.bound / expected
        for parameter in self.critic.parameters():
            parameter.grad += torch.randn_like(parameter) * std
        optimizer.step()
        clip_weights(self.critic, self.config.dp.weight_clip)
        self.steps += 1

    def state_dict(self) -> State:
        return {"steps": self.steps}

    def load_state_dict(self, state: State) -> None:
        self.steps = int(state["steps"])


class SerialServer(PairServer):
    """The serialised schedule: one stage per visit; each sampled client continues from the previous one."""

    def __init__(self, generator: nn.Module, critic: nn.Module, clients_per_round: int | None, clients: int) -> None:
        super().__init__(generator, critic, clients_per_round)
        self.visits = clients_per_round or clients

    def stages(self, server_round: int) -> Sequence[str]:
        return tuple(f"visit.{position}" for position in range(self.visits))

    def configure(self, stage: str, server_round: int, clients: Sequence[int]) -> dict[int, Message]:
        position = int(stage.split(".")[1])
        if position >= len(clients):
            return {}
        arrays = pair_arrays(self.generator, self.discriminator)
        return {clients[position]: Message(self.message_type, arrays, {"round": server_round})}

    def aggregate(self, stage: str, server_round: int, replies: Mapping[int, Message]) -> dict[str, float]:
        for reply in replies.values():  # at most one: the visited client's model becomes the current one
            load_module_arrays(self.generator, reply.arrays, "g.")
            load_module_arrays(self.discriminator, reply.arrays, "d.")
            return {"g_loss": float(reply.config["g_loss"])}
        return {}


class AveragingServer(PairServer):
    """The parallel schedule: FedAvg of G and the critic (clients report no critic loss, which reads real rows)."""

    def aggregate(self, stage: str, server_round: int, replies: Mapping[int, Message]) -> dict[str, float]:
        order = sorted(replies)
        sizes = [float(replies[cid].config["num_examples"]) for cid in order]
        mean = weighted_mean([replies[cid].arrays for cid in order], sizes)
        load_module_arrays(self.generator, mean, "g.")
        load_module_arrays(self.discriminator, mean, "d.")
        self.last_weights = {"g": {c: n / sum(sizes) for c, n in zip(order, sizes, strict=True)}}
        return size_weighted(replies, order, ("g_loss",))


QUALITY = {
    # The papers' WGAN is the mechanism: the weight clip is what bounds a record's gradient (the DP sensitivity), so
    # no spectral norm (it would break gradient_bound), no hinge loss and RMSprop rather than Adam; no generator EMA
    # on the server. The recipe's width, batch and rates are kept.
    **{key: STABLE_GAN_RECIPE[key] for key in ("model.hidden", "optim.batch_size", "optim.lr_g", "optim.lr_d")},
    **{key: FEDAVG_GAN_QUALITY[key] for key in ("rounds", "clients", "clients_per_round", "local_steps")},
    "critic_steps": 2,
    "dp.noise_multiplier": 0.3,
}
"""FedAvg-GAN's quality budget in generator steps (40 rounds x 2 of 10 clients x 50 steps): the critic reads its rows
by Poisson sampling outside LocalData.batch, so the meter counts none; 2 critic steps of expected batch 64 per
generator step. Noise multiplier 0.3 (the smoke preset's; the papers' was not seen): at 1.0 the noise of std
sigma c_g drowns the critic and the generator collapses (KID 5.6, recall 0, RDP epsilon 400 at seed 0), where without
noise this WGAN reaches KID 0.018, recall 0.98."""


@register(
    "private-fl-gan",
    config=PrivateFLGANConfig,
    family="gan",
    summary="Private FL-GAN: weight-clipped WGAN critics whose Lipschitz bound is the DP sensitivity; FedAvg or serial.",
    presets={
        "smoke": {  # not the papers': a noise level and rates that learn digits in 20 rounds
            "rounds": 20,
            "clients": 5,
            "local_steps": 5,
            "dp.noise_multiplier": 0.3,
            "optim.batch_size": 64,
            "optim.lr_g": 2e-3,
            "optim.lr_d": 2e-3,
        },
        "quality": QUALITY,
        "private-fl-gan-2020": {"rounds": 100, "clients": 10, "schedule": "parallel"},
        "fl-gan-neurocomputing-2021": {"rounds": 100, "clients": 10, "schedule": "serial"},
    },
    claim=parity_claim(
        statement="With the critic's weight clip as the sensitivity bound, Gaussian noise on the critic's gradients "
        "(sigma 0.3, no per-example clipping) keeps the federated WGAN within 0.02 KID and 0.8x recall of the same "
        "federation without noise.",
        runs={
            "private-fl-gan": ClaimRun(implementation="private-fl-gan"),
            "no-noise": ClaimRun(implementation="private-fl-gan", overrides={"dp.noise_multiplier": 0.0}),
        },
        note="The papers' point is a provable DP guarantee from the Lipschitz limit with no extra clipping; the "
        "guarantee is privacy.json's epsilon, and the check is what the noise costs, on 10 IID clients of the 8x8 "
        "digits, 2 a round (the papers' data, noise and epsilon were not seen).",
    ),
)
class PrivateFLGAN(ImageGANAlgorithm[PrivateFLGANConfig]):
    uploads = MappingProxyType({"g.": "generator-parameters", "d.": "discriminator-parameters"})
    weighted_mean_upload = True
    flower_refusal = "its privacy ledger counts each client's participation on the clients' own objects, which live on the Flower nodes, not on the server"

    def __init__(self, config: PrivateFLGANConfig, run_dir: Path) -> None:
        super().__init__(config, run_dir)
        self.participants: dict[int, PrivateFLGANClient] = {}

    def make_server(self) -> PairServer:
        config, critic = self.config, self.new_discriminator()
        clip_weights(critic, config.dp.weight_clip)
        if config.schedule == "serial":
            return SerialServer(self.new_generator(), critic, config.clients_per_round, config.clients)
        return AveragingServer(self.new_generator(), critic, config.clients_per_round)

    def make_client(self, client_id: int) -> PrivateFLGANClient:
        client = PrivateFLGANClient(
            self.client_data(client_id), self.new_generator(), self.new_discriminator(), self.config
        )
        self.participants[client_id] = client
        return client

    def finish(self, server: Server) -> dict[str, Any]:
        metrics = super().finish(server)
        ledger = self.ledger()
        write_ledger(self.run_dir, ledger)
        return {**metrics, "epsilon": ledger.epsilon, "delta": ledger.delta}

    def release_plan(self) -> ReleasePlan:
        config = self.config
        smallest = min(len(part) for part in self.parts)
        return ReleasePlan(
            setting="dp.noise_multiplier",
            sample_rate=min(1.0, config.optim.batch_size / smallest),
            steps=config.rounds * config.local_steps * config.critic_steps,
            delta=config.dp.delta,
            worst_case=f"a record of the smallest client ({smallest} rows) if that client trains every round",
        )

    def ledger(self) -> PrivacyLedger:
        dp = self.config.dp
        clients = sorted(self.participants.items())
        releases = {str(cid): (c.sample_rate, c.steps) for cid, c in clients}
        per_client, worst = accounting.per_client(dp.noise_multiplier, releases, dp.delta)
        bound = max(c.bound for _, c in clients)
        return PrivacyLedger(
            mechanism="dp-sgd",
            level="record",
            noise_multiplier=dp.noise_multiplier,
            clipping_norm=bound,
            sample_rate=max(c.sample_rate for _, c in clients),
            steps=max(c.steps for _, c in clients),
            steps_unit="optimizer-steps",
            epsilon=max(per_client.values()),
            delta=dp.delta,
            accountant=ACCOUNTANT,
            other_epsilons=worst,
            per_client_epsilon=per_client,
            per_client_releases=releases,
            assumptions=[
                f"No per-example clipping: critic weights in [-{dp.weight_clip:g}, {dp.weight_clip:g}] bound every "
                f"record's gradient by c_g = {bound:.4g} (the Lipschitz limit as the sensitivity), for rows in [-1, 1].",
                "Each client Poisson-samples its rows (q = batch / rows) for every critic step; the noise std on the "
                "sum of real-row gradients is sigma * c_g.",
                "Guarantees hold per record of one client's data; the generator is private by post-processing.",
            ],
        )
