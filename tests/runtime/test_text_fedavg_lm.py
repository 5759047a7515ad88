"""FedAvg-LM: only LoRA adapters travel, the frozen base never changes, and tuning lowers held-out perplexity."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from fedgen_registry.data.text import CharTokenizer, corpus_alphabet, synthetic_corpus
from fedgen_registry.federation.local import Delivery, LocalEngine
from fedgen_registry.federation.seeding import deterministic
from fedgen_registry.models.lm import adapter_arrays, base_arrays
from fedgen_registry.registry import get_implementation
from fedgen_registry.runs.runner import build_config

TINY = {
    "data.sentences": 400,
    "data.public_sentences": 200,
    "model.pretrain_steps": 30,
    "model.block_size": 24,
    "optim.batch_size": 8,
    "sample_lines": 1,
    "local_steps": 4,
}


def _engine(run_dir: Path, observer: Any = None, **overrides: Any) -> LocalEngine:
    spec = get_implementation("fedavg-lm")
    config = build_config(spec, "smoke", {**TINY, **overrides})
    return LocalEngine(spec.target(config, run_dir), run_dir, quiet=True, observer=observer)


def test_only_lora_tensors_travel_and_the_base_never_changes(tmp_path) -> None:
    deliveries: list[Delivery] = []
    engine = _engine(tmp_path, deliveries.append, rounds=2)
    base = base_arrays(engine.algorithm.new_model())
    engine.run()
    assert {d.direction for d in deliveries} == {"down", "up"}
    for delivery in deliveries:
        names = set(delivery.message.arrays)
        assert names and all(".lora_A." in n or ".lora_B." in n for n in names), names
        for array in delivery.message.arrays.values():
            assert not any(array.shape == b.shape and torch.equal(array, b) for b in base.values())
    adapters = {n for n, p in engine.server.module("adapters").named_parameters() if p.requires_grad}
    assert adapters and all("lora_" in n for n in adapters)
    for model in [engine.server.module("adapters"), *(client.model for client in engine.clients.values())]:
        after = base_arrays(model)
        assert after.keys() == base.keys() and all(torch.equal(after[k], base[k]) for k in base)
    moved = [d.message.arrays for d in deliveries if d.direction == "up"]
    assert any(torch.count_nonzero(v) for arrays in moved for k, v in arrays.items() if "lora_B" in k)


def test_aggregate_is_the_size_weighted_mean_of_client_adapters(tmp_path) -> None:
    replies: dict[int, dict] = {}

    def spy(delivery: Delivery) -> None:
        if delivery.direction == "up":
            replies[delivery.client] = {"arrays": dict(delivery.message.arrays), **delivery.message.config}

    engine = _engine(tmp_path, spy, rounds=1, **{"data.partition": "quantity"})
    engine.run()
    order = sorted(replies)
    sizes = np.array([replies[c]["num_examples"] for c in order], dtype=np.float64)
    assert len(set(sizes)) > 1
    for name, value in adapter_arrays(engine.server.module("adapters")).items():
        stacked = np.stack([replies[c]["arrays"][name].numpy().astype(np.float64) for c in order])
        expected = np.tensordot(sizes / sizes.sum(), stacked, axes=1).astype(np.float32)
        assert torch.allclose(value, torch.from_numpy(expected), rtol=1e-6, atol=1e-7), name


def test_tuning_lowers_held_out_perplexity_over_rounds(tmp_path) -> None:
    engine = _engine(tmp_path, rounds=3, local_steps=8)
    history = engine.run()
    with deterministic(threads=1):  # as the engine judges a run: spinning OpenMP threads are slow here
        metrics = engine.algorithm.finish(engine.server)
    assert metrics["perplexity"] < 0.9 * metrics["base_perplexity"]
    assert history[-1]["metrics"]["train_loss"] < history[0]["metrics"]["train_loss"]
    assert (tmp_path / "samples.txt").read_text(encoding="utf-8").endswith("\n")


def test_the_corpus_is_generated_deterministically_and_tokenizes_losslessly() -> None:
    train, test = synthetic_corpus(300)
    synthetic_corpus.cache_clear()
    again, _ = synthetic_corpus(300)
    assert train.sentences == again.sentences and not set(train.sentences) & set(test.sentences) - set(train.sentences)
    tokenizer = CharTokenizer(corpus_alphabet())
    assert tokenizer.decode(tokenizer.encode(train.text())) == train.text()
