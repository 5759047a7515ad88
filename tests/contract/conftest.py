"""The runs the contract checks share, built lazily once per implementation (a module-scoped fixture).

Every check runs the ``smoke`` preset for :data:`ROUNDS` rounds with small evaluation settings, so the
whole registry stays cheap to check. Each run happens only when a check asks for it, and at most once
per implementation: the reference run (the runner, as ``fedgen run`` does it) serves the smoke, the
determinism, the resume and the Flower checks; the observed twin serves the determinism and the wire
checks; one interrupted run serves the resume and the other-seed checks.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
import torch

import fedgen_registry
from fedgen_registry.federation.errors import FederationError
from fedgen_registry.federation.local import Delivery, LocalEngine
from fedgen_registry.federation.protocol import Message
from fedgen_registry.registry import ImplementationSpec, get_implementation, list_implementations
from fedgen_registry.runs.runner import build_config, config_keys

ROUNDS = 2
SMALL = {"eval.samples": 64, "eval.kid_subsets": 2, "eval.kid_subset_size": 32}
"""Evaluation settings, set where a config has them: the checks are about mechanics, not quality."""

CAPS = {
    "local_steps": 2,
    "finetune_steps": 2,
    "model.pretrain_steps": 10,
    "model.sample_steps": 5,
    "reconstruction.steps": 10,
}
"""Upper bounds for the costly counts of a smoke preset (the centralized twins take 24-100 local steps)."""

IMPLEMENTATIONS = list_implementations()


class KilledError(Exception):
    """Raised by an observer to kill a run at a chosen point, as a crash would."""


@dataclass(frozen=True)
class Upload:
    """One client reply as the wire shows it."""

    server_round: int
    stage: str
    client: int
    message_type: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    """What a finished (or killed) run left in its run directory: the last checkpoint's state and history."""

    run_dir: Path
    state: dict[str, Any]
    history: list[dict[str, Any]]

    @classmethod
    def read(cls, run_dir: Path) -> Outcome:
        payload = torch.load(run_dir / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)
        history = json.loads(payload["history"])
        for record in history:
            del record["seconds"]  # wall time: the one field allowed to differ
        return cls(run_dir, payload["state"], history)


def contract_overrides(spec: ImplementationSpec) -> dict[str, Any]:
    """``rounds``, the small evaluation settings and the :data:`CAPS` that this implementation's config has."""
    smoke = build_config(spec, "smoke", {}).model_dump()
    overrides: dict[str, Any] = {"rounds": ROUNDS}
    for key in config_keys(spec.config):
        value = smoke
        for part in key.split("."):
            value = value[part]
        if key in SMALL:
            overrides[key] = SMALL[key]
        elif key in CAPS and isinstance(value, int) and value > CAPS[key]:
            overrides[key] = CAPS[key]
    return overrides


def same_state(left: Any, right: Any, where: str = "state", atol: float | None = None) -> list[str]:
    """Where two nested states differ (empty: bit-identical, tensors compared with ``torch.equal``; with
    ``atol``, tensors and floats may differ by that much)."""
    if isinstance(left, torch.Tensor):
        same = isinstance(right, torch.Tensor) and left.dtype == right.dtype and left.shape == right.shape
        if same:
            same = torch.equal(left, right) if atol is None else torch.allclose(left, right, rtol=0, atol=atol)
        return [] if same else [where]
    if isinstance(left, Mapping):
        if not isinstance(right, Mapping) or set(left) != set(right):
            return [f"{where}: keys {sorted(map(str, left))} != {sorted(map(str, right or {}))}"]
        return [diff for key in left for diff in same_state(left[key], right[key], f"{where}.{key}", atol)]
    if isinstance(left, list | tuple):
        if not isinstance(right, list | tuple) or len(left) != len(right):
            return [f"{where}: {type(left).__name__} of {len(left)} != {right!r:.80}"]
        return [
            diff
            for i, (a, b) in enumerate(zip(left, right, strict=True))
            for diff in same_state(a, b, f"{where}[{i}]", atol)
        ]
    if atol is not None and isinstance(left, float) and isinstance(right, float):
        return [] if math.isclose(left, right, rel_tol=0, abs_tol=atol) else [f"{where}: {left!r} != {right!r}"]
    return [] if left == right else [f"{where}: {left!r:.80} != {right!r:.80}"]


class Contract:
    """One implementation's runs, each made on first use."""

    def __init__(self, implementation_id: str, folder: Path) -> None:
        self.id = implementation_id
        self.spec = get_implementation(implementation_id)
        self.folder = folder
        self.overrides = contract_overrides(self.spec)

    def config(self, **changes: Any) -> Any:
        return build_config(self.spec, "smoke", {**self.overrides, **changes})

    def engine(self, name: str, observer: Callable[[Delivery], None] | None = None, **changes: Any) -> LocalEngine:
        run_dir = self.folder / name
        return LocalEngine(self.spec.target(self.config(**changes), run_dir), run_dir, quiet=True, observer=observer)

    @cached_property
    def reference(self) -> Outcome:
        """The run as ``fedgen run ID --preset smoke`` makes it: history, checkpoints, metrics.json."""
        run_dir = self.folder / "reference"
        fedgen_registry.run(self.id, preset="smoke", out=run_dir, quiet=True, **self.overrides)
        return Outcome.read(run_dir)

    @cached_property
    def vectorised(self) -> Outcome | FederationError:
        """The run with ``vectorise_clients=true``, or the engine's refusal (given before any round runs)."""
        try:
            engine = self.engine("vectorised", vectorise_clients=True)
        except FederationError as refusal:
            return refusal
        engine.run()
        return Outcome.read(engine.run_dir)

    @cached_property
    def twin(self) -> tuple[Outcome, list[Upload]]:
        """Same settings and seed, on an engine with an observer: the outcome and every client reply."""
        uploads: list[Upload] = []

        def watch(delivery: Delivery) -> None:
            if delivery.direction == "up":
                message = delivery.message
                uploads.append(
                    Upload(
                        delivery.server_round,
                        delivery.stage,
                        delivery.client,
                        message.message_type,
                        tuple(message.arrays),
                    )
                )

        engine = self.engine("twin", observer=watch)
        engine.run()
        return Outcome.read(engine.run_dir), uploads

    def interrupted(self, name: str, **changes: Any) -> Outcome:
        """A run killed as round 2 begins, after round 1's checkpoint: what a crash leaves behind."""

        def kill_in_round_2(delivery: Delivery) -> None:
            if delivery.server_round == 2:
                raise KilledError

        with pytest.raises(KilledError):
            self.engine(name, observer=kill_in_round_2, **changes).run()
        return Outcome.read(self.folder / name)

    @cached_property
    def first_round(self) -> Outcome:
        return self.interrupted("resumed")

    @cached_property
    def resumed(self) -> Outcome:
        """The killed run, resumed by a fresh process's engine (a new algorithm, clients rebuilt from scratch)."""
        self.first_round  # noqa: B018  # the crash comes first
        engine = self.engine("resumed")
        engine.resume()
        engine.run()
        return Outcome.read(engine.run_dir)

    @cached_property
    def other_seed_first_round(self) -> Outcome:
        return self.interrupted("other-seed", seed=self.config().seed + 1)

    @cached_property
    def flower(self) -> tuple[Outcome, dict[int, Any]] | FederationError:
        """The run on the ServerApp and ClientApp through an in-process Grid (no Ray, no SuperLink).

        The outcome and each client's state as its node keeps it, or the engine's refusal.
        """
        from fedgen_registry.federation.flower.apps import ProtocolClientApp
        from fedgen_registry.federation.flower.codec import decode_state
        from fedgen_registry.federation.flower.job import FlowerRun
        from fedgen_registry.federation.flower.node import CURRENT, NODE
        from fedgen_registry.federation.flower.wire import PARTITION_QUERY
        from fedgen_registry.runs.flower import serve
        from tests.flower.conftest import InlineGrid

        run_dir = self.folder / "flower"
        config = self.config()
        run = FlowerRun.create(self.spec, config, str(run_dir))
        grid = InlineGrid(ProtocolClientApp(run), reversed(range(config.clients)))  # node order unlike client order
        try:
            serve(grid, run)
        except FederationError as refusal:
            self.flower_deliveries = sum(r.metadata.message_type != PARTITION_QUERY for r in grid.replies)
            return refusal
        on_nodes = {}
        for context in grid.contexts.values():
            tag = context.state.config_records.get(NODE)
            if tag is not None and str(tag[CURRENT]):  # a node that answered at least once
                layout = str(tag[CURRENT])
                on_nodes[int(context.node_config["partition-id"])] = decode_state(
                    context.state.array_records[CURRENT], layout
                )
        return Outcome.read(run_dir), on_nodes

    def secure_mean(self) -> Outcome:
        """The run with each stage's replies replaced by their ``num_examples``-weighted mean, as SecAgg+ does."""
        engine = self.engine("secure-mean")
        aggregate = engine.server.aggregate

        def aggregate_the_mean(stage: str, server_round: int, replies: Mapping[int, Message]) -> dict[str, float]:
            return aggregate(stage, server_round, weighted_mean_replies(replies))

        engine.server.aggregate = aggregate_the_mean  # type: ignore[method-assign]
        engine.run()
        return Outcome.read(engine.run_dir)


def weighted_mean_replies(replies: Mapping[int, Message]) -> dict[int, Message]:
    """Every reply with its arrays replaced by the ``num_examples``-weighted mean of all replies' arrays."""
    carrying = {cid: reply for cid, reply in replies.items() if reply.arrays}
    if not carrying:
        return dict(replies)
    missing = sorted(cid for cid, reply in carrying.items() if "num_examples" not in reply.config)
    if missing:
        pytest.fail(f"replies of clients {missing} carry no num_examples to weigh them by", pytrace=False)
    weights = {cid: float(reply.config["num_examples"]) for cid, reply in carrying.items()}
    total = sum(weights.values())
    names = next(iter(carrying.values())).arrays
    mean = {
        name: sum(reply.arrays[name].double() * (weights[cid] / total) for cid, reply in carrying.items()).to(
            array.dtype
        )
        for name, array in names.items()
    }
    return {
        cid: Message(reply.message_type, mean, reply.config) if cid in carrying else reply
        for cid, reply in replies.items()
    }


@pytest.fixture(scope="module", params=IMPLEMENTATIONS)
def contract(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Contract]:
    """One implementation's shared runs; pytest groups a module's checks by implementation around it."""
    implementation_id = request.param
    yield Contract(implementation_id, tmp_path_factory.mktemp(implementation_id))
