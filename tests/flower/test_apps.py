"""The ServerApp and ClientApp, driven through an in-process Grid: same results as the local engine, state on nodes.

These run the real apps (routing, records, the node's ``context.state``) without Ray or a SuperLink.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from flwr.app import Context, MetricRecord, RecordDict
from flwr.app import Message as FlowerMessage
from flwr.serverapp.strategy.strategy_utils import aggregate_arrayrecords

from fedgen_registry.federation.errors import FederationError
from fedgen_registry.federation.flower.apps import ProtocolClientApp
from fedgen_registry.federation.flower.codec import decode_state, to_array_record
from fedgen_registry.federation.flower.job import FlowerRun
from fedgen_registry.federation.flower.node import CURRENT, NODE
from fedgen_registry.federation.flower.relay import connect
from fedgen_registry.implementations.generation.gan import md_gan
from fedgen_registry.registry import get_implementation
from fedgen_registry.runs.flower import serve
from tests.flower.conftest import InlineGrid, assert_same_state, checkpoint_state, smoke_config


def flower_run(implementation: str, run_dir: Path, **overrides: Any) -> FlowerRun:
    spec = get_implementation(implementation)
    return FlowerRun.create(spec, smoke_config(implementation, **overrides), str(run_dir))


def serve_inline(run: FlowerRun) -> InlineGrid:
    clients = json.loads(run.config)["clients"]
    grid = InlineGrid(ProtocolClientApp(run), reversed(range(clients)))  # node order unlike client order
    serve(grid, run)
    return grid


@pytest.mark.parametrize(
    ("implementation", "overrides"),
    [
        ("fedavg-gan", {"rounds": 2, "clients": 3, "local_steps": 2}),
        ("md-gan", {"rounds": 4, "clients": 3, "swap_every": 2}),
    ],
)
def test_both_engines_give_bit_identical_results(implementation, overrides, make_engine, tmp_path) -> None:
    local = make_engine(implementation, **overrides)
    local.run()
    grid = serve_inline(flower_run(implementation, tmp_path / "flower", **overrides))
    assert_same_state(local.server.state_dict(), checkpoint_state(tmp_path / "flower")["server"])
    history = [json.loads(line) for line in (tmp_path / "flower" / "history.jsonl").read_text().splitlines()]
    assert [r["metrics"] for r in history] == [r["metrics"] for r in local.history]
    assert [r["bytes_up"] for r in history] == [r["bytes_up"] for r in local.history]
    if implementation == "md-gan":  # each worker's discriminator and Adam state live on its node only
        for context in grid.contexts.values():
            cid = int(context.node_config["partition-id"])
            tag = context.state.config_records[NODE]
            on_node = decode_state(context.state.array_records[CURRENT], str(tag[CURRENT]))
            assert_same_state(local.clients[cid].state_dict(), on_node)
        sent_up = {name for reply in grid.replies for name in reply.content.array_records.get("arrays", {})}
        discriminator_replies = {
            r.metadata.message_type
            for r in grid.replies
            if any(n.startswith("d.") for n in r.content.array_records.get("arrays", {}))
        }
        assert "feedback" in sent_up and discriminator_replies == {md_gan.COLLECT}  # only when the algorithm sends it


@pytest.mark.parametrize(
    ("quorum", "message_type", "nth"),
    [(1.0, md_gan.DISC_STEP, 5), (0.5, md_gan.COLLECT, 2)],
    ids=["attempt-fails", "round-goes-on"],
)
def test_a_client_that_raises_on_its_node_is_handled_as_locally(
    quorum, message_type, nth, make_engine, tmp_path, monkeypatch
) -> None:
    """With 3 clients, the nth message of the type is client 1's in round 2 (a swap round).

    attempt-fails: quorum 1.0, the attempt fails, and the retry must start from round 1's states on
    every node. round-goes-on: client 1 raises after training in round 2; its node must restore its
    round-1 state, as the local engine does, or round 3 differs.
    """
    calls = {"n": 0}
    original = md_gan.MDGANWorker.handle

    def flaky(self, message):
        calls["n"] += message.message_type == message_type
        if message.message_type == message_type and calls["n"] == nth:
            raise RuntimeError("injected")
        return original(self, message)

    monkeypatch.setattr(md_gan.MDGANWorker, "handle", flaky)
    settings = {"rounds": 3, "clients": 3, "swap_every": 2, "quorum": quorum}
    local = make_engine("md-gan", **settings)
    local.run()
    calls["n"] = 0
    serve_inline(flower_run("md-gan", tmp_path / "flower", **settings))
    history = [json.loads(line) for line in (tmp_path / "flower" / "history.jsonl").read_text().splitlines()]
    assert [len(r["failed_attempts"]) for r in history] == [len(r["failed_attempts"]) for r in local.history]
    assert [r["completed"] for r in history] == [r["completed"] for r in local.history]
    if quorum == 0.5:
        assert history[1]["completed"] == [0, 2] and "RuntimeError: injected" in history[1]["failures"][0]["reason"]
    else:
        assert [len(r["failed_attempts"]) for r in history] == [0, 1, 0]
    assert_same_state(local.server.state_dict(), checkpoint_state(tmp_path / "flower")["server"])


def test_message_types_route_through_flowers_handlers(tmp_path) -> None:
    app = ProtocolClientApp(flower_run("md-gan", tmp_path, clients=2))
    context = Context(run_id=1, node_id=5, node_config={"partition-id": 1}, state=RecordDict(), run_config={})
    reply = app(FlowerMessage(RecordDict(), dst_node_id=5, message_type="query.fedgen_partition"), context)
    assert reply.content.config_records["fedgen"]["partition-id"] == 1
    with pytest.raises(
        ValueError, match="Invalid message type"
    ):  # Flower's own check: category must be train/evaluate/query
        app(FlowerMessage(RecordDict(), dst_node_id=5, message_type="swap.collect"), context)
    with pytest.raises(ValueError, match="partition-id"):
        app(
            FlowerMessage(RecordDict(), dst_node_id=5, message_type="query.fedgen_partition"),
            Context(1, 5, {}, RecordDict(), {}),
        )


def test_the_hand_shake_needs_one_node_per_client(tmp_path) -> None:
    app = ProtocolClientApp(flower_run("fedavg-gan", tmp_path, clients=2))
    assert connect(InlineGrid(app, [1, 0, 7]), 2, timeout=1) == {0: 1001, 1: 1000}
    with pytest.raises(FederationError, match="two Flower nodes have partition-id 0"):
        connect(InlineGrid(app, [0, 0]), 2, timeout=1)
    with pytest.raises(FederationError, match=r"no Flower node has partition-id \[1\]"):
        connect(InlineGrid(app, [0, 2]), 2, timeout=1)
    with pytest.raises(FederationError, match="1 of the 2 Flower nodes"):
        connect(InlineGrid(app, [0]), 2, timeout=0.1)


def test_the_module_level_apps_read_the_run_from_run_config(tmp_path) -> None:
    """What a deployment does: nothing bound to the apps, everything from ``context.run_config``."""
    from fedgen_registry.runs.flower import client_app, server_app

    run = flower_run("fedavg-gan", tmp_path / "run", rounds=1, clients=2, local_steps=1)
    assert FlowerRun.from_run_config(run.to_run_config()) == run
    grid = InlineGrid(client_app, [0, 1], run_config=run.to_run_config())
    server_app(grid, Context(run_id=1, node_id=0, node_config={}, state=RecordDict(), run_config=run.to_run_config()))
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["rounds"] == 1 and (tmp_path / "run" / "samples.png").exists()


def test_flowers_fedavg_aggregation_agrees_with_the_kept_aggregate(make_engine) -> None:
    """The engine keeps FedAvg-GAN's own float64 mean (bit-identical engines); Flower's float32 one agrees."""
    replies: dict[int, Any] = {}
    engine = make_engine("fedavg-gan", rounds=1, clients=3, local_steps=1, **{"data.partition": "dirichlet"})
    engine.observer = lambda d: replies.__setitem__(d.client, d.message) if d.direction == "up" else None
    engine.run()
    records = [
        RecordDict({"arrays": to_array_record(m.arrays), "m": MetricRecord({"n": int(m.config["num_examples"])})})
        for _, m in sorted(replies.items())
    ]
    assert len({int(m.config["num_examples"]) for m in replies.values()}) > 1  # the weights matter
    flower = aggregate_arrayrecords(records, "n")
    state = engine.server.state_dict()
    for name, array in flower.items():
        net, key = ("generator", name[2:]) if name.startswith("g.") else ("discriminator", name[2:])
        assert torch.allclose(torch.from_numpy(array.numpy()), state[net][key], rtol=0, atol=1e-6), name


def test_a_declared_flower_refusal_stops_the_run_before_flower_starts(tmp_path) -> None:
    """``Algorithm.flower_refusal`` is read before the simulation (and Ray) start, and names the reason."""
    from fedgen_registry.runs.flower import run_flower

    spec = get_implementation("bgan")
    with pytest.raises(FederationError, match="bgan cannot run on the flower engine: its evaluation reads"):
        run_flower(spec, smoke_config("bgan"), tmp_path, resume=False, quiet=True)
    assert not (tmp_path / "history.jsonl").exists()
