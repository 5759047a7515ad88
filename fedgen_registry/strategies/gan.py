"""Building blocks that several federated-GAN papers share beyond plain FedAvg.

- :class:`PairServer`: :class:`~fedgen_registry.strategies.fedavg.FedAvg` of a global generator (``g.``)
  and discriminator (``d.``); a paper overrides :meth:`~fedgen_registry.strategies.fedavg.FedAvg.weights`
  (data size by default, a KL or MMD score in FeGAN and IFL-GAN) and may post-process the mean.
- :class:`FedAvgGANClient`: the client that trains both networks it receives (FedAvg-GAN's), with
  :class:`ProfiledClient` reporting its label histogram too; :class:`FedAvgGANAlgorithm` puts the two on
  the image task (FedAvg-GAN itself, and the base of the papers that change one side of it).
- :class:`MixtureGenerator`: sample from several generators (EFFGAN's ensemble of fine-tuned
  generators, MULTI-FLGAN's several GANs, the devices of personalised or peer-to-peer schemes).
- :func:`staleness_weight`: the FedAsync staleness functions (constant, exponential, hinge) used by
  asynchronous schemes to damp late updates.
- :func:`edge_groups`: which edge server each device reports to in a device-edge-cloud hierarchy.
- :func:`label_histogram`: the label counts a client reports when a server balances or clusters clients.
- :class:`DeviceMixtureAlgorithm`: judging a scheme whose generators live on the devices (no global
  generator on the server) by sampling from the mixture of the devices' generators.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType, SimpleNamespace
from typing import Any, Literal, Protocol, TypeVar

import torch
from pydantic import Field
from torch import nn

from fedgen_registry.data.local import LocalData
from fedgen_registry.federation.arrays import load_module_arrays, module_arrays, size_weighted, weighted_mean
from fedgen_registry.federation.errors import FederationError
from fedgen_registry.federation.protocol import BatchedClient, Client, Message, Server, State
from fedgen_registry.objectives.gan import OptimConfig, train_steps
from fedgen_registry.objectives.vectorised import (
    LocalPlan,
    draw_plan,
    stack_plans,
    vectorised_update,
    vectorising_refusal,
)
from fedgen_registry.strategies.fedavg import TRAIN, FedAvg, Network
from fedgen_registry.tasks.image_gan import ConfigT, ImageGANAlgorithm, ImageGANConfig

StalenessRule = Literal["constant", "exponential", "hinge"]
PROFILE = "query.label_histogram"
"""The message a server sends to ask a client for its :func:`label_histogram`."""
ClientT = TypeVar("ClientT", bound="LocalGANClient")
VMAP_CHUNK = 256
"""Clients trained together in one vmapped update: enough to fill the kernels, few enough to bound memory."""
GAN_LOSSES = ("d_loss", "g_loss")
"""The losses a GAN client reports, which its FedAvg server averages into the round's metrics."""


def pair_arrays(generator: nn.Module, discriminator: nn.Module) -> dict[str, torch.Tensor]:
    """Both networks as one message payload (``g.`` and ``d.`` prefixes)."""
    return {**module_arrays(generator, "g."), **module_arrays(discriminator, "d.")}


class PairServer(FedAvg):
    """FedAvg of a global G and D: each round sends both to the chosen clients and averages what comes back."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module, clients_per_round: int | None) -> None:
        super().__init__(
            {"generator": (Network(generator), "g."), "discriminator": (Network(discriminator), "d.")},
            clients_per_round,
            GAN_LOSSES,
        )
        self.generator, self.discriminator = generator, discriminator


class FedAvgGANConfig(ImageGANConfig):
    local_steps: int = Field(5, ge=1, description="Alternating D/G updates per client per round.")
    ema: float | None = Field(
        None,
        ge=0,
        lt=1,
        description="Decay of the server's moving average of the global generator, updated every round and "
        "judged in its place (None: judge the last global generator).",
    )


class AveragedGeneratorServer(PairServer):
    """A :class:`PairServer` that also keeps an exponential moving average of the global generator.

    Averaging a GAN generator's weights over the last rounds smooths the oscillation of adversarial
    training (the EMA generator of the stable GAN recipes, here per round, where the server sees it);
    the moving average is judged instead of the last generator and is checkpointed with the server.
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, clients_per_round: int | None, decay: float):
        super().__init__(generator, discriminator, clients_per_round)
        self.decay = decay
        self.averaged = copy.deepcopy(generator)

    def aggregate(self, stage: str, server_round: int, replies: Mapping[int, Message]) -> dict[str, float]:
        metrics = super().aggregate(stage, server_round, replies)
        with torch.no_grad():
            current = self.generator.state_dict()
            for name, average in self.averaged.state_dict().items():  # parameters and buffers (batch norm)
                if average.is_floating_point():
                    average.lerp_(current[name], 1.0 - self.decay)
                else:
                    average.copy_(current[name])
        return metrics

    def state_dict(self) -> State:
        return {**super().state_dict(), "averaged_generator": self.averaged.state_dict()}

    def load_state_dict(self, state: State) -> None:
        super().load_state_dict(state)
        self.averaged.load_state_dict(state["averaged_generator"])


FEDAVG_GAN_SMOKE = {"rounds": 20, "clients": 10, "local_steps": 5}
"""FedAvg-GAN's smoke preset, which its centralized twin scales to one client."""

STABLE_GAN_RECIPE = {
    "model.spectral_norm": True,
    "model.hidden": 256,
    "optim.loss": "hinge",
    "optim.lr_g": 2e-4,
    "optim.lr_d": 2e-4,
    "optim.beta1": 0.0,
    "optim.beta2": 0.9,
    "optim.batch_size": 64,
    "ema": 0.8,
}
"""The GAN recipe that does not collapse on small data: a spectrally normalised discriminator, the hinge
loss, Adam(0, 0.9) at 2e-4 (Miyato et al. 2018) and a moving average of the generator, judged in its place."""

FEDAVG_GAN_QUALITY = {**STABLE_GAN_RECIPE, "rounds": 40, "clients": 10, "clients_per_round": 2, "local_steps": 50}
"""FedAvg-GAN at the budget where it shows what it does (256,000 real-row visits); its centralized twin
gets the same visits as 40 rounds of 100 steps."""


class LocalGANClient(Client):
    """A client that trains its generator and discriminator on its own rows with FedAvg-GAN's local steps.

    The recipe (optimiser settings, steps, latent size, conditioning) is held once here; a subclass says
    what a message brings in and what the reply takes out, and calls :meth:`train` in between.
    """

    def __init__(
        self,
        data: LocalData,
        generator: nn.Module,
        discriminator: nn.Module,
        optim: OptimConfig,
        local_steps: int,
        latent_dim: int,
        conditional: bool,
    ) -> None:
        self.data, self.generator, self.discriminator = data, generator, discriminator
        self.optim, self.local_steps, self.latent_dim, self.conditional = optim, local_steps, latent_dim, conditional

    @classmethod
    def for_algorithm(cls: type[ClientT], algorithm: ImageGANAlgorithm[Any], client_id: int) -> ClientT:
        """This client for one of ``algorithm``'s clients: its rows, fresh networks, the local-steps recipe.

        Shared by every variant that changes only the server, adds to the reply or keeps its own state, so the networks
        are built in the same order, and from the same seeds, everywhere.
        """
        config = algorithm.config
        return cls(
            algorithm.client_data(client_id),
            algorithm.new_generator(),
            algorithm.new_discriminator(),
            config.optim,
            config.local_steps,
            config.model.latent_dim,
            algorithm.conditional,
        )

    def train(self) -> dict[str, float]:
        """``local_steps`` alternating D and G updates with fresh Adam optimizers; the mean losses."""
        return train_steps(
            self.generator,
            self.discriminator,
            self.optim,
            self.data,
            self.local_steps,
            self.latent_dim,
            self.conditional,
        )


class FedAvgGANClient(LocalGANClient, BatchedClient):
    """Stateless between rounds: its networks are overwritten by every message (no private state to keep).

    Batched (``vectorise_clients``): the clients of a round train together in
    :func:`~fedgen_registry.objectives.vectorised.vectorised_update`, ``VMAP_CHUNK`` at a time to bound
    memory; their own networks are then left as they were, which nothing reads (the next message
    overwrites them).
    """

    batched_messages = frozenset({TRAIN})

    def handle(self, message: Message) -> Message:
        self._check(message)
        load_module_arrays(self.generator, message.arrays, "g.")
        load_module_arrays(self.discriminator, message.arrays, "d.")
        losses = self.train()
        return Message(
            TRAIN, pair_arrays(self.generator, self.discriminator), {"num_examples": len(self.data.y), **losses}
        )

    def _check(self, message: Message) -> None:
        if message.message_type != TRAIN:
            raise ValueError(f"a FedAvg-GAN client does not handle {message.message_type!r}")

    def batching_refusal(self) -> str:
        return vectorising_refusal(self.generator, self.discriminator)

    def prepare(self, message: Message) -> LocalPlan:
        self._check(message)
        return draw_plan(self.data, self.local_steps, self.optim.batch_size, self.latent_dim, self.conditional)

    @classmethod
    def handle_prepared(
        cls, clients: Sequence[BatchedClient], messages: Sequence[Message], plans: Sequence[Any]
    ) -> list[Message]:
        replies: list[Message] = []
        for start in range(0, len(clients), VMAP_CHUNK):
            chunk = slice(start, start + VMAP_CHUNK)
            replies += cls._train_together(clients[chunk], messages[chunk], plans[chunk])  # type: ignore[arg-type]
        return replies

    @staticmethod
    def _train_together(
        clients: Sequence[FedAvgGANClient], messages: Sequence[Message], plans: Sequence[LocalPlan]
    ) -> list[Message]:
        first = clients[0]
        names = list(pair_arrays(first.generator, first.discriminator))
        start = {name: torch.stack([message.arrays[name] for message in messages]) for name in names}
        result = vectorised_update(first.generator, first.discriminator, start, stack_plans(plans), first.optim)
        return [
            Message(
                TRAIN,
                {name: result.arrays[name][index].clone() for name in names},
                {
                    "num_examples": len(client.data.y),
                    "d_loss": float(result.d_loss[index]),
                    "g_loss": float(result.g_loss[index]),
                },
            )
            for index, client in enumerate(clients)
        ]


class ProfiledClient(FedAvgGANClient):
    """A FedAvg-GAN client that also reports its label histogram when asked (FeGAN, MULTI-FLGAN)."""

    batched_messages = FedAvgGANClient.batched_messages  # training is unchanged; only PROFILE is added

    def handle(self, message: Message) -> Message:
        if message.message_type == PROFILE:
            return Message(PROFILE, {"histogram": label_histogram(self.data)})
        return super().handle(message)


class FedAvgGANAlgorithm(ImageGANAlgorithm[ConfigT]):
    """FedAvg of G and D on the image task: a :class:`PairServer` and :class:`FedAvgGANClient` s.

    The family algorithm of federated GANs, and the base of the papers that change only its server
    or only its client (both built here, generator before discriminator, as every variant does).
    """

    uploads = MappingProxyType({"g.": "generator-parameters", "d.": "discriminator-parameters"})
    weighted_mean_upload = True

    def __init__(self, config: ConfigT, run_dir: Path) -> None:
        super().__init__(config, run_dir)
        if getattr(config, "ema", None) is not None and type(self).make_server is not FedAvgGANAlgorithm.make_server:
            raise FederationError(
                f"ema is the FedAvg-GAN server's moving average of the generator; {type(self).__name__} builds its "
                "own server and keeps none, so leave ema unset"
            )

    def make_server(self) -> PairServer:
        generator, discriminator = self.new_generator(), self.new_discriminator()
        ema = getattr(self.config, "ema", None)
        if ema is not None:
            return AveragedGeneratorServer(generator, discriminator, self.config.clients_per_round, ema)
        return PairServer(generator, discriminator, self.config.clients_per_round)

    def make_client(self, client_id: int) -> FedAvgGANClient:
        return FedAvgGANClient.for_algorithm(self, client_id)

    def finish(self, server: Server) -> dict[str, Any]:
        if isinstance(server, AveragedGeneratorServer):
            return super().finish(SimpleNamespace(generator=server.averaged))  # type: ignore[arg-type]
        return super().finish(server)


class MixtureGenerator(nn.Module):
    """Draws each sample from one component generator, chosen with the given probabilities."""

    def __init__(self, components: Sequence[nn.Module], probabilities: Sequence[float]) -> None:
        super().__init__()
        if len(components) != len(probabilities) or not components:
            raise ValueError("a mixture needs one probability per component generator")
        self.components = nn.ModuleList(components)
        total = float(sum(probabilities))
        self.register_buffer("probabilities", torch.tensor([p / total for p in probabilities], dtype=torch.float64))

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        choice = torch.multinomial(self.probabilities, len(z), replacement=True)
        rows = []
        for index, component in enumerate(self.components):
            mask = choice == index
            if mask.any():
                rows.append((mask, component(z[mask], None if labels is None else labels[mask])))
        out = torch.empty(len(z), rows[0][1].shape[1], dtype=rows[0][1].dtype)
        for mask, samples in rows:
            out[mask] = samples
        return out


def staleness_weight(staleness: float, rule: StalenessRule, a: float, b: float) -> float:
    """FedAsync's damping of an update that is ``staleness`` global versions old (Xie et al. 2019).

    constant: 1; exponential: ``exp(-a s)``; hinge: 1 up to ``b``, then ``1 / (a (s - b) + 1)``.
    """
    if staleness < 0:
        raise ValueError(f"staleness cannot be negative (got {staleness})")
    if rule == "constant":
        return 1.0
    if rule == "exponential":
        return math.exp(-a * staleness)
    return 1.0 if staleness <= b else 1.0 / (a * (staleness - b) + 1.0)


def edge_groups(num_devices: int, num_edges: int) -> list[int]:
    """Edge server of each device: contiguous, near-equal blocks (device ``i`` -> its edge)."""
    if not 1 <= num_edges <= num_devices:
        raise ValueError(f"{num_devices} devices cannot be spread over {num_edges} edge servers")
    return [device * num_edges // num_devices for device in range(num_devices)]


def label_histogram(data: LocalData) -> torch.Tensor:
    """The client's label counts (what FeGAN-style balancing and clustering servers ask for)."""
    return torch.bincount(data.y, minlength=data.num_classes).to(torch.float64)


class HasGenerator(Protocol):
    generator: nn.Module


class DeviceMixtureAlgorithm(ImageGANAlgorithm[ConfigT]):
    """Judges the union of the devices' own generators when no generator sits on the server.

    The engine builds clients through :meth:`make_client`; subclasses register each device with
    :meth:`remember` so :meth:`finish` can sample from the size-weighted mixture of their generators
    (an evaluation-side read, never a protocol message).
    """

    def __init__(self, config: ConfigT, run_dir: Any) -> None:
        super().__init__(config, run_dir)
        self.devices: dict[int, HasGenerator] = {}

    def remember(self, client_id: int, client: Client) -> Client:
        self.devices[client_id] = client  # type: ignore[assignment]
        return client

    def finish(self, server: Server) -> dict[str, Any]:
        order = sorted(self.devices)
        mixture = MixtureGenerator(
            [self.devices[cid].generator for cid in order], [float(len(self.parts[cid])) for cid in order]
        )
        return super().finish(SimpleNamespace(generator=mixture))  # type: ignore[arg-type]


TIERED = "train.tiered"


class TieredDevice(LocalGANClient):
    """A device of a device-edge-cloud hierarchy: a private discriminator, a generator of which only
    the ``shared`` entries travel (all of them, or the shared stages of a personalised generator).

    Each message carries the device's edge model for the shared entries; the device loads them over its
    own generator, trains G and D on its rows, and returns the shared entries only.
    """

    def __init__(
        self,
        data: LocalData,
        generator: nn.Module,
        discriminator: nn.Module,
        shared: Sequence[str],
        optim: OptimConfig,
        local_steps: int,
        latent_dim: int,
        conditional: bool,
    ) -> None:
        super().__init__(data, generator, discriminator, optim, local_steps, latent_dim, conditional)
        self.shared = tuple(shared)

    def handle(self, message: Message) -> Message:
        if message.message_type != TIERED:
            raise ValueError(f"a tiered device does not handle {message.message_type!r}")
        own = self.generator.state_dict()
        self.generator.load_state_dict({**own, **{name[2:]: value for name, value in message.arrays.items()}})
        losses = self.train()
        arrays = {
            "g." + name: value.detach().clone()
            for name, value in self.generator.state_dict().items()
            if name in self.shared
        }
        return Message(TIERED, arrays, {"num_examples": len(self.data.y), **losses})

    def state_dict(self) -> State:
        return {"generator": self.generator.state_dict(), "discriminator": self.discriminator.state_dict()}

    def load_state_dict(self, state: State) -> None:
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])


class TieredServer(Server):
    """Edge servers average their devices every round; the cloud averages the edges every ``cloud_every``.

    The server object stands for the whole upper hierarchy (the edges and the cloud), which the engine's
    single server role has to play. :meth:`cloud_step` is the cloud's rule (synchronous FedAvg of the
    edges, weighted by their data, here; asynchronous schemes override it).
    """

    def __init__(self, shared: Mapping[str, torch.Tensor], edge_of: Sequence[int], cloud_every: int) -> None:
        self.edge_of, self.cloud_every = list(edge_of), cloud_every
        self.num_edges = max(self.edge_of) + 1
        self.edges: dict[int, dict[str, torch.Tensor]] = {e: dict(shared) for e in range(self.num_edges)}
        self.edge_sizes: dict[int, float] = {e: 0.0 for e in range(self.num_edges)}

    def configure(self, stage: str, server_round: int, clients: Sequence[int]) -> dict[int, Message]:
        return {cid: Message(TIERED, dict(self.edges[self.edge_of[cid]])) for cid in clients}

    def aggregate(self, stage: str, server_round: int, replies: Mapping[int, Message]) -> dict[str, float]:
        updated = []
        for edge in range(self.num_edges):
            members = [cid for cid in sorted(replies) if self.edge_of[cid] == edge]
            if members:
                sizes = [float(replies[cid].config["num_examples"]) for cid in members]
                self.edges[edge] = weighted_mean([replies[cid].arrays for cid in members], sizes)
                self.edge_sizes[edge] = sum(sizes)
                updated.append(edge)
        metrics = size_weighted(replies, sorted(replies), GAN_LOSSES)
        if server_round % self.cloud_every == 0:
            metrics |= self.cloud_step(server_round, updated)
        return metrics

    def cloud_step(self, server_round: int, updated: Sequence[int]) -> dict[str, float]:
        """Synchronous cloud: the data-weighted mean of the edges that hold data, sent back to every edge."""
        edges = [e for e in range(self.num_edges) if self.edge_sizes[e] > 0]
        cloud = weighted_mean([self.edges[e] for e in edges], [self.edge_sizes[e] for e in edges])
        self.edges = {e: dict(cloud) for e in range(self.num_edges)}
        return {"cloud_sync": 1.0}

    def state_dict(self) -> State:
        return {"edges": {e: dict(a) for e, a in self.edges.items()}, "edge_sizes": dict(self.edge_sizes)}

    def load_state_dict(self, state: State) -> None:
        self.edges = {e: dict(a) for e, a in state["edges"].items()}
        self.edge_sizes = dict(state["edge_sizes"])
