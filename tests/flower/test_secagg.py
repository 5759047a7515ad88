"""Flower's SecAgg+ on the flower engine: the server gets the weighted mean, never one node's parameters."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest
import torch
from flwr.app import Message as FlowerMessage
from flwr.common import bytes_to_ndarray
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS, Key

from fedgen_registry.federation.errors import FederationError
from fedgen_registry.federation.flower.apps import ProtocolClientApp
from fedgen_registry.federation.flower.job import FlowerRun
from fedgen_registry.federation.flower.secagg import SecAggPlusSettings
from fedgen_registry.registry import get_implementation
from fedgen_registry.runs.flower import serve
from tests.flower.conftest import InlineGrid, checkpoint_state, smoke_config

SETTINGS = SecAggPlusSettings(max_weight=2000.0)
RUN = {"rounds": 1, "clients": 3, "local_steps": 1, "data.partition": "dirichlet"}


class CopyingGrid(InlineGrid):
    """Each node gets its own copy of a message, as over a real transport (the workflow sends one
    ``RecordDict`` to every node, and ``secaggplus_mod`` pops the stage out of it)."""

    def send_and_receive(self, messages: Iterable[FlowerMessage], *, timeout: float | None = None) -> list:
        return super().send_and_receive([copy.deepcopy(message) for message in messages], timeout=timeout)


def run_inline(implementation: str, run_dir: Path, secagg: SecAggPlusSettings | None, **overrides) -> CopyingGrid:
    config = smoke_config(implementation, **overrides)
    run = FlowerRun.create(
        get_implementation(implementation), config, str(run_dir), secagg=secagg.model_dump_json() if secagg else ""
    )
    grid = CopyingGrid(ProtocolClientApp(run), range(config.clients))
    serve(grid, run)
    return grid


def test_secure_aggregate_equals_the_plain_one_within_quantisation(tmp_path) -> None:
    plain_grid = run_inline("fedavg-gan", tmp_path / "plain", None, **RUN)
    run_inline("fedavg-gan", tmp_path / "secure", SETTINGS, **RUN)
    plain, secure = checkpoint_state(tmp_path / "plain")["server"], checkpoint_state(tmp_path / "secure")["server"]
    sizes = [
        int(reply.content.config_records["config"]["num_examples"])
        for reply in plain_grid.replies
        if reply.metadata.message_type == "train.fedavg"
    ]
    assert len(sizes) == 3 and len(set(sizes)) > 1  # unequal weights: the weighting is exercised
    step = 2 * SETTINGS.clipping_range / SETTINGS.quantization_range
    # at most one stochastic rounding step per node on the weighted sum, then float32 storage
    tolerance = len(sizes) * step / (sum(sizes) / SETTINGS.max_weight) + 1e-6
    fresh = get_implementation("fedavg-gan").target(smoke_config("fedavg-gan", **RUN), tmp_path / "x").make_server()
    for net in ("generator", "discriminator"):
        for name, value in plain[net].items():
            assert not torch.equal(value, fresh.state_dict()[net][name])  # training moved it: the test can fail
            assert torch.allclose(secure[net][name], value, rtol=0, atol=tolerance), f"{net}.{name}"
    plain_history = json.loads((tmp_path / "plain" / "history.jsonl").read_text().splitlines()[0])
    secure_history = json.loads((tmp_path / "secure" / "history.jsonl").read_text().splitlines()[0])
    assert secure_history["metrics"] == plain_history["metrics"]  # losses travel in the clear, unchanged


def test_the_server_app_receives_masked_vectors_only(tmp_path) -> None:
    grid = run_inline("fedavg-gan", tmp_path / "secure", SETTINGS, **RUN)
    masked = [
        reply
        for reply in grid.replies
        if Key.MASKED_PARAMETERS in reply.content.config_records.get(RECORD_KEY_CONFIGS, {})
    ]
    assert len(masked) == 3
    for reply in masked:  # no parameters in any array record; the vector is uniform on the ring, not quantised
        assert all(len(record) == 0 for record in reply.content.array_records.values())
        vector = np.concatenate(
            [
                bytes_to_ndarray(b).ravel()
                for b in reply.content.config_records[RECORD_KEY_CONFIGS][Key.MASKED_PARAMETERS]
            ]
        )
        assert np.mean(vector > SETTINGS.quantization_range) > 0.9  # unmasked values all lie in [0, 2^22]
    assert not any(len(r.content.array_records.get("arrays", {})) for r in grid.replies)
    plain = run_inline("fedavg-gan", tmp_path / "plain", None, **RUN)
    assert all(
        len(r.content.array_records["arrays"]) for r in plain.replies if r.metadata.message_type == "train.fedavg"
    )


def test_an_algorithm_that_does_not_average_is_refused(tmp_path) -> None:
    with pytest.raises(FederationError, match="md-gan does not"):
        run_inline("md-gan", tmp_path / "md", SETTINGS, rounds=1, clients=2)


def test_the_gate_reads_the_algorithms_declaration_not_a_list_of_ids() -> None:
    """Any algorithm that declares a weighted-mean upload passes (the VAE, the LM), one that does not is refused."""
    from fedgen_registry.federation.flower.secagg import check_supported
    from fedgen_registry.registry import get_implementation

    for implementation in ("fedavg-gan", "fedavg-vae", "fedgan"):
        check_supported(get_implementation(implementation).target, implementation)
    with pytest.raises(FederationError, match="weighted_mean_upload"):
        check_supported(get_implementation("fegan").target, "fegan")
