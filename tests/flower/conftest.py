"""Fixtures for the flower engine: an in-process Grid, local reference runs, state comparison.

:class:`InlineGrid` delivers Flower messages to a ``ClientApp`` in this process, one ``Context`` per node,
as Flower's runtimes do but without Ray or a SuperLink, so the apps' logic is tested in seconds; the
tests marked ``slow`` run the real simulation runtime and a real SuperLink with SuperNodes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

os.environ["FLWR_TELEMETRY_ENABLED"] = "0"  # before flwr is imported: nothing leaves the machine

import torch
from flwr.app import Context, RecordDict
from flwr.app import Message as FlowerMessage
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid
from flwr.supercore.task_identity import TaskIdentity
from runtime.settings import FAST_EVAL

from fedgen_registry.federation.local import LocalEngine
from fedgen_registry.registry import get_implementation
from fedgen_registry.runs.runner import build_config


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: starts Ray or Flower processes (tens of seconds); runs by default")


class InlineGrid(Grid):
    """A Grid whose nodes answer in this process; ``partitions[i]`` is node i's ``partition-id``."""

    def __init__(self, client_app: ClientApp, partitions: Iterable[int], run_config: Mapping[str, Any] | None = None):
        TaskIdentity.run_id, TaskIdentity.task_id, TaskIdentity.node_id = 1, 1, 0  # what a runtime sets for a ServerApp
        self.client_app = client_app
        self.contexts = {
            1000 + index: Context(
                run_id=1,
                node_id=1000 + index,
                node_config={"partition-id": partition},
                state=RecordDict(),
                run_config=dict(run_config or {}),
            )
            for index, partition in enumerate(partitions)
        }
        self.replies: list[FlowerMessage] = []

    def get_node_ids(self) -> Iterable[int]:
        return list(self.contexts)

    def send_and_receive(
        self, messages: Iterable[FlowerMessage], *, timeout: float | None = None
    ) -> list[FlowerMessage]:
        replies = [self.client_app(message, self.contexts[message.metadata.dst_node_id]) for message in messages]
        self.replies.extend(replies)
        return replies

    def set_run(self, run: Any) -> None:
        raise NotImplementedError

    @property
    def run(self) -> Any:
        raise NotImplementedError

    def create_message(self, *args: Any, **kwargs: Any) -> FlowerMessage:
        raise NotImplementedError

    def push_messages(self, messages: Iterable[FlowerMessage]) -> Iterable[str]:
        raise NotImplementedError

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[FlowerMessage]:
        raise NotImplementedError


def smoke_config(implementation: str, **overrides: Any) -> Any:
    """The smoke preset with small evaluation settings and ``overrides``."""
    return build_config(get_implementation(implementation), "smoke", {**FAST_EVAL, **overrides})


@pytest.fixture
def make_engine(tmp_path: Path) -> Callable[..., LocalEngine]:
    """``make_engine("md-gan", rounds=2)``: a LocalEngine (not run yet) on the smoke preset plus overrides."""

    def build(implementation: str, **overrides: Any) -> LocalEngine:
        folder = tmp_path / f"local-{implementation}"
        algorithm = get_implementation(implementation).target(smoke_config(implementation, **overrides), folder)
        return LocalEngine(algorithm, folder, quiet=True)

    return build


def assert_same_state(left: Any, right: Any, where: str = "state") -> None:
    """Bit-identical nested states (tensors compared with ``torch.equal``)."""
    if isinstance(left, torch.Tensor):
        assert isinstance(right, torch.Tensor) and torch.equal(left, right), where
    elif isinstance(left, Mapping):
        assert isinstance(right, Mapping) and set(left) == set(right), f"{where}: {sorted(left)} != {sorted(right)}"
        for key in left:
            assert_same_state(left[key], right[key], f"{where}.{key}")
    else:
        assert left == right, f"{where}: {left!r} != {right!r}"


def checkpoint_state(run_dir: Path) -> dict[str, Any]:
    return torch.load(run_dir / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)["state"]
