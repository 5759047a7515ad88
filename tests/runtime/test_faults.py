"""Faults: drop-outs and crashing clients are skipped and logged; a missed quorum is retried, then stops;
a non-finite loss stops the run and leaves the last good checkpoint."""

from __future__ import annotations

import json
import math

import pytest

from fedgen_registry.federation.checkpoint import clone_state, load_checkpoint
from fedgen_registry.federation.errors import FederationError
from fedgen_registry.federation.protocol import Message

FAST = {"rounds": 3, "local_steps": 1}


def patch_client(engine, cid: int, replace) -> None:
    """Wrap one client's ``handle``: ``replace(call_number, message, original)`` decides the reply."""
    original = engine.clients[cid].handle
    calls = [0]

    def handle(message: Message) -> Message:
        calls[0] += 1
        return replace(calls[0], message, original)

    engine.clients[cid].handle = handle


def test_dropouts_are_skipped_and_logged_above_quorum(make_engine) -> None:
    engine = make_engine("fedavg-gan", client_failure_rate=0.3, quorum=0.5, **FAST)
    history = engine.run()
    assert len(history) == 3
    dropped = [f for record in history for f in record["failures"]]
    assert dropped and all(f["reason"] == "simulated drop-out" for f in dropped)
    for record in history:
        gone = {f["client"] for f in record["failures"]}
        assert set(record["completed"]) == set(record["sampled"]) - gone
        assert len(record["completed"]) >= 5


def test_a_client_that_raises_is_skipped_and_rolled_back(make_engine) -> None:
    engine = make_engine("md-gan", swap_every=0, rounds=3)
    seen: dict[str, dict] = {}

    def crash_in_round_3(call, message, original):
        if call < 3:
            return original(message)
        seen["before"] = clone_state(engine.clients[2].state_dict())
        original(message)  # trains the private discriminator, then fails: the change must be undone
        seen["changed"] = clone_state(engine.clients[2].state_dict())
        raise RuntimeError("disk on fire")

    patch_client(engine, 2, crash_in_round_3)
    history = engine.run()
    assert history[2]["failures"] == [{"client": 2, "stage": "train", "reason": "RuntimeError: disk on fire"}]
    assert 2 not in history[2]["completed"] and 2 in history[1]["completed"]
    weight = "net.0.weight"
    assert not seen["changed"]["discriminator"][weight].equal(seen["before"]["discriminator"][weight])
    assert engine.clients[2].state_dict()["discriminator"][weight].equal(seen["before"]["discriminator"][weight])


def test_missed_quorum_is_retried_from_the_round_start(make_engine) -> None:
    engine = make_engine("fedavg-gan", quorum=1.0, **FAST)

    def flaky_once(call, message, original):
        if call == 1:
            raise OSError("flaky")
        return original(message)

    patch_client(engine, 0, flaky_once)
    history = engine.run()
    first = history[0]
    assert first["attempt"] == 1 and len(first["failed_attempts"]) == 1
    assert "9 of 10 sampled clients left, quorum 1.0 needs 10" in first["failed_attempts"][0]["error"]
    assert first["completed"] == list(range(10)) and first["failures"] == []


def test_below_quorum_stops_with_a_clear_message(make_engine, tmp_path) -> None:
    engine = make_engine("fedavg-gan", client_failure_rate=0.9, quorum=0.5, round_retries=2, **FAST)
    with pytest.raises(FederationError) as excinfo:
        engine.run()
    message = str(excinfo.value)
    assert message.startswith("round 1 missed its quorum in all 3 attempt(s)")
    assert "quorum 0.5 needs 5" in message and "No checkpoint was written" in message and "\n" not in message


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(make_engine) -> None:
    engine = make_engine("fedavg-gan", **FAST)

    def nan_in_round_2(call, message, original):
        reply = original(message)
        if call == 2:
            return Message(reply.message_type, reply.arrays, {**reply.config, "d_loss": math.nan})
        return reply

    patch_client(engine, 3, nan_in_round_2)
    with pytest.raises(
        FederationError, match=r"round 2: non-finite d_loss=nan from client 3 at stage 'train'"
    ) as excinfo:
        engine.run()
    assert f"last good checkpoint is round 1 in {engine.checkpoint_path}" in str(excinfo.value)
    checkpoint = load_checkpoint(engine.checkpoint_path)
    assert checkpoint["round"] == 1 and [r["round"] for r in json.loads(checkpoint["history"])] == [1]
    lines = (engine.run_dir / "history.jsonl").read_text().splitlines()
    assert [json.loads(line)["round"] for line in lines] == [1]
