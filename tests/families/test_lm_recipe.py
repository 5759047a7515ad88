"""The LM recipe: one cosine-decayed learning rate over the whole run, placed by the server's round; the n-gram
yardsticks judged beside every run; and a quality preset whose centralized twin draws the same windows."""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch

from fedgen_registry.federation.local import LocalEngine
from fedgen_registry.federation.protocol import Message
from fedgen_registry.federation.seeding import deterministic
from fedgen_registry.models.lm import LoRALMConfig, adapter_arrays, build_base, with_lora
from fedgen_registry.objectives.lm import LMOptimConfig, TokenStream, ngram_perplexity, train_steps
from fedgen_registry.registry import expand_dotted, get_implementation
from fedgen_registry.runs.runner import build_config
from fedgen_registry.strategies.text import TRAIN, FedAvgLMClient, FedAvgLMConfig

TINY = LoRALMConfig(layers=1, dims=16, heads=2, block_size=8, lora_r=2)
VOCAB = 5


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return with_lora(build_base(TINY, VOCAB, seed=0), TINY)


def _stream() -> TokenStream:
    return TokenStream(torch.randint(VOCAB, (200,), generator=torch.Generator().manual_seed(1)))


def _largest_move(before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]) -> float:
    return max(float((after[name] - before[name]).abs().max()) for name in before)


def test_the_cosine_rate_runs_from_lr_to_zero_and_the_constant_one_stays() -> None:
    cosine = LMOptimConfig(lr=0.1, schedule="cosine")
    assert cosine.lr_at(0, 10) == pytest.approx(0.1)
    assert cosine.lr_at(5, 10) == pytest.approx(0.05)
    assert cosine.lr_at(9, 10) == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi * 0.9)))
    assert LMOptimConfig(lr=0.1).lr_at(9, 10) == 0.1
    with pytest.raises(ValueError, match="outside a run of 10"):
        cosine.lr_at(10, 10)


def test_a_client_steps_at_the_rate_of_its_servers_round() -> None:
    """Adam's first step moves every parameter with a gradient by the rate itself: round r's one local step is
    step r-1 of the run, so the adapters move by lr_at(r-1, rounds)."""
    optim = LMOptimConfig(batch_size=4, lr=0.01, schedule="cosine")
    model = _model()
    client = FedAvgLMClient(model, _stream(), 10, local_steps=1, rounds=4, block_size=8, optim=optim)
    start = adapter_arrays(model)
    for server_round in (1, 3, 4):
        with deterministic(threads=1):
            reply = client.handle(Message(TRAIN, start, {"round": server_round}))
        expected = optim.lr_at(server_round - 1, 4)
        assert _largest_move(start, dict(reply.arrays)) == pytest.approx(expected, rel=1e-3), server_round
    with pytest.raises(ValueError, match="carries its round"):
        client.handle(Message(TRAIN, start, {}))


def test_a_local_run_late_in_the_schedule_barely_moves_and_a_constant_one_moves_fully() -> None:
    moves = {}
    for schedule in ("constant", "cosine"):
        model = _model()
        before = adapter_arrays(model)
        optim = LMOptimConfig(batch_size=4, lr=0.01, schedule=schedule)
        train_steps(model, _stream(), 1, 8, optim, first_step=999, run_steps=1000)
        moves[schedule] = _largest_move(before, adapter_arrays(model))
    assert moves["constant"] == pytest.approx(0.01, rel=1e-3)
    assert moves["cosine"] < 1e-6


def _reference_ngram(train: list[int], held_out: list[int], vocab: int, order: int, block: int) -> float:
    """Add-one n-gram by plain counting, each window's tokens scored with the context inside the window."""
    counts = Counter(tuple(train[i : i + n]) for n in range(1, order + 1) for i in range(len(train) - n + 1))
    counts[()] = len(train)
    nll, scored = 0.0, 0
    for start in range(0, len(held_out) - block, block + 1):
        window = held_out[start : start + block + 1]
        for t in range(1, block + 1):
            context = tuple(window[max(0, t - order + 1) : t])
            nll -= math.log((counts[(*context, window[t])] + 1) / (counts[context] + vocab))
            scored += 1
    return math.exp(nll / scored)


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_ngram_perplexity_is_add_one_counting_inside_each_window(order: int) -> None:
    generator = torch.Generator().manual_seed(order)
    pattern = torch.tensor([0, 1, 2, 0, 1, 3])  # a repeating pattern with noise, so the order matters
    train = torch.where(
        torch.rand(600, generator=generator) < 0.1,
        torch.randint(VOCAB, (600,), generator=generator),
        pattern.repeat(100),
    )
    held_out = pattern.repeat(20)[:-3]  # 117 tokens: 13 windows of 9, the remainder unscored
    got = ngram_perplexity(TokenStream(train), TokenStream(held_out), VOCAB, order, block_size=8)
    assert got == pytest.approx(_reference_ngram(train.tolist(), held_out.tolist(), VOCAB, order, 8), rel=1e-9)


def test_on_the_corpus_longer_contexts_count_better() -> None:
    from fedgen_registry.data.text import CharTokenizer, corpus_alphabet, synthetic_corpus

    train, test = synthetic_corpus(400)
    tokenizer = CharTokenizer(corpus_alphabet())
    pooled, held_out = (TokenStream(torch.as_tensor(tokenizer.encode(c.text()))) for c in (train, test))
    figures = [ngram_perplexity(pooled, held_out, tokenizer.vocab_size, n, 32) for n in (1, 2, 5)]
    assert figures[0] > figures[1] > figures[2] > 1.0
    assert figures[0] < tokenizer.vocab_size


def test_the_quality_twin_draws_the_federated_runs_windows_from_all_the_text() -> None:
    federated = FedAvgLMConfig.model_validate(expand_dotted(get_implementation("fedavg-lm").presets["quality"]))
    twin_spec = get_implementation("centralized-lm")
    twin = twin_spec.config.model_validate(expand_dotted(twin_spec.presets["quality"]))
    assert federated.clients == 10 and federated.data.partition == "iid" and federated.clients_per_round == 2
    assert twin.clients == 1
    windows = federated.rounds * federated.clients_per_round * federated.local_steps * federated.optim.batch_size
    assert windows == twin.rounds * twin.local_steps * twin.optim.batch_size
    assert (twin.model, twin.optim, twin.rounds) == (federated.model, federated.optim, federated.rounds)
    assert federated.optim.schedule == "cosine"


def test_the_shared_base_does_not_depend_on_the_tuning_batch(tmp_path) -> None:
    spec = get_implementation("fedavg-lm")
    tiny = {"data.sentences": 100, "data.public_sentences": 50, "model.pretrain_steps": 3}
    bases = [
        spec.target(build_config(spec, "smoke", {**tiny, "optim.batch_size": size}), tmp_path / str(size)).base_state
        for size in (2, 16)
    ]
    assert all(torch.equal(bases[0][name], bases[1][name]) for name in bases[0])
    again = spec.target(build_config(spec, "smoke", {**tiny, "model.pretrain_batch_size": 2}), tmp_path / "b2")
    assert not all(torch.equal(bases[0][name], again.base_state[name]) for name in bases[0])


SHORT = {"rounds": 6, "model.pretrain_steps": 120, "data.sentences": 400, "data.public_sentences": 200}
"""The quality recipe on a fifth of the corpus and 240 of its 1,600 steps, to stay cheap."""


def test_a_short_quality_recipe_run_beats_the_bigram_and_reports_every_yardstick(tmp_path) -> None:
    spec = get_implementation("fedavg-lm")
    config = build_config(spec, "quality", {**SHORT, "sample_lines": 0})
    engine = LocalEngine(spec.target(config, tmp_path), tmp_path, quiet=True)
    engine.run()
    with deterministic(threads=1):  # as the engine judges a run
        metrics = engine.algorithm.finish(engine.server)
    assert metrics["unigram_perplexity"] > metrics["bigram_perplexity"] > metrics["fivegram_perplexity"]
    assert metrics["perplexity"] < 0.9 * metrics["bigram_perplexity"] < metrics["base_perplexity"], metrics
