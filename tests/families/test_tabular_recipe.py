"""The tabular GAN recipe: CTGAN's activations, conditions and packed penalty; several critic updates per generator
update; encodings that do not depend on what was encoded before (the Flower mismatch); the memorisation check;
the server's moving average, judged; and quality presets whose twin draws the same rows."""

from __future__ import annotations

from collections import namedtuple
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from ctgan.synthesizers.ctgan import Discriminator

from fedgen_registry.data.partition import iid
from fedgen_registry.data.tabular import TableConfig, load_table
from fedgen_registry.data.tabular_encoding import EncodingConfig, merge, summarise
from fedgen_registry.data.tabular_sampling import ConditionSampler, encoded_rows
from fedgen_registry.federation.local import LocalEngine
from fedgen_registry.federation.seeding import deterministic, seed_everything
from fedgen_registry.metrics.table import table_memorisation
from fedgen_registry.models.tabular import (
    GUMBEL_TAU,
    Activation,
    TabularModelConfig,
    build_discriminator,
    build_generator,
)
from fedgen_registry.registry import get_implementation
from fedgen_registry.runs.runner import build_config
from fedgen_registry.strategies.gan import AveragedGeneratorServer
from fedgen_registry.tasks import table_step
from fedgen_registry.tasks.table_step import TabularOptimConfig, packed_penalty, train_steps

Span = namedtuple("Span", "dim activation_fn")
INFO = [[Span(1, "tanh"), Span(3, "softmax")], [Span(1, "tanh"), Span(2, "softmax")], [Span(3, "softmax")]]
"""Two continuous columns (value, modes) and one discrete column with three categories, as ctgan lays them out."""


def _rows(categories: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Encoded rows of INFO whose discrete column holds ``categories``."""
    n = len(categories)
    modes = [np.eye(3)[rng.integers(3, size=n)], np.eye(2)[rng.integers(2, size=n)]]
    values = rng.uniform(-0.5, 0.5, size=(n, 2))
    return np.concatenate([values[:, :1], modes[0], values[:, 1:], modes[1], np.eye(3)[categories]], 1).astype(
        np.float32
    )


def test_the_activation_is_tanh_on_values_and_a_gumbel_softmax_per_span() -> None:
    activation = Activation.of(INFO)
    raw = (torch.randn(64, 10) * 20).requires_grad_(True)  # large logits: the per-span maximum keeps exp finite
    torch.manual_seed(0)
    out = activation(raw)
    torch.manual_seed(0)
    uniform = torch.rand_like(raw).clamp_(min=torch.finfo(raw.dtype).tiny)
    logits = (raw + -torch.log(-torch.log(uniform))) / GUMBEL_TAU
    parts = [
        torch.tanh(raw[:, :1]),
        logits[:, 1:4].softmax(1),
        torch.tanh(raw[:, 4:5]),
        logits[:, 5:7].softmax(1),
        logits[:, 7:10].softmax(1),
    ]
    assert torch.allclose(out, torch.cat(parts, 1), atol=1e-6)
    (gradient,) = torch.autograd.grad((out * torch.randn_like(out)).sum(), raw)
    assert torch.isfinite(gradient).all() and gradient.abs().sum() > 0


def test_conditions_follow_log_frequency_in_training_plain_frequency_in_generation() -> None:
    rng = np.random.default_rng(0)
    counts = np.array([80, 0, 20])  # this party holds no row of category 1
    categories = np.repeat(np.arange(3), counts)
    sampler = ConditionSampler(_rows(categories, rng), INFO, log_frequency=True)
    np.random.seed(0)
    condition = sampler.training(20000)
    drawn = np.bincount(condition.category, minlength=3) / 20000
    expected = np.log1p(counts) / np.log1p(counts).sum()
    assert np.allclose(drawn, expected, atol=0.01) and drawn[1] == 0  # rare category 2 drawn far above its 20%
    assert (condition.vectors.argmax(1) == condition.category).all() and (condition.mask == 1).all()
    rows = sampler.rows(condition, 20000)
    assert (categories[rows] == condition.category).all()  # every real row holds its condition's category
    generated = np.bincount(sampler.generation(20000).argmax(1), minlength=3) / 20000
    assert np.allclose(generated, counts / counts.sum(), atol=0.01)


def test_the_packed_penalty_is_ctgans_pacgan_penalty() -> None:
    """The shared WGAN-GP penalty on packed rows: one interpolation weight and one gradient norm per pack."""
    torch.manual_seed(0)
    critic = Discriminator(6, (16,), pac=5).eval()  # eval: no dropout, so both see one function
    real, fake = torch.randn(20, 6), torch.randn(20, 6)
    torch.manual_seed(1)
    ours = packed_penalty(critic, real, fake, pac=5)
    torch.manual_seed(1)
    theirs = critic.calc_gradient_penalty(real, fake.requires_grad_(True), "cpu", pac=5, lambda_=1.0)
    assert torch.allclose(ours, theirs, rtol=1e-5)


def test_a_generator_update_follows_critic_steps_critic_updates(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real_step = table_step.critic_step

    def counted(*args: Any) -> float:
        calls.append(1)
        return real_step(*args)

    monkeypatch.setattr(table_step, "critic_step", counted)
    rng = np.random.default_rng(0)
    data = encoded_rows(_rows(rng.integers(3, size=40), rng), INFO, log_frequency=True)
    model = TabularModelConfig(latent_dim=4, generator_dims=[8], discriminator_dims=[8], pac=2)
    generator, critic = build_generator(model, 10, 3), build_discriminator(model, 10, 3)
    losses = train_steps(generator, critic, data, 3, model, TabularOptimConfig(batch_size=8, critic_steps=4))
    assert len(calls) == 12 and np.isfinite(list(losses.values())).all()


def test_an_encoding_depends_on_the_frame_and_seed_only() -> None:
    """rdt advances each column's random state with every call; a Flower node re-encodes its rows per message."""
    table = load_table(TableConfig(name="breast-cancer", max_features=4))
    config = EncodingConfig(max_clusters=3, pseudo_rows=100)
    parts = iid(len(table.train), 2, np.random.default_rng(0))
    encoding = merge([summarise(table.train.iloc[p], table.discrete, config) for p in parts], table.discrete, config, 0)
    first = encoding.encode(table.test, seed=3)
    encoding.encode(table.train, seed=3)  # what another client's rows would do to the transformers' state
    assert np.array_equal(encoding.encode(table.test, seed=3), first)
    assert not np.array_equal(encoding.encode(table.test, seed=4), first)  # the seed does pick the modes


def test_memorisation_flags_copied_training_rows_and_not_fresh_ones() -> None:
    table = load_table(TableConfig(name="wine"))
    copied = table_memorisation(table.train.iloc[:36], table.train, table.test, table.discrete)
    fresh = table_memorisation(table.test, table.train, table.test, table.discrete)
    assert copied["copied_fraction"] == 1.0 and copied["copies_flagged"] and copied["dcr_median"] == 0.0
    assert fresh["copied_fraction"] < 0.05 and not fresh["copies_flagged"] and fresh["dcr_ratio"] == pytest.approx(1)
    near = table.train.iloc[:36].copy()
    continuous = [c for c in table.train.columns if c not in table.discrete]
    near[continuous] += 0.01 * table.train[continuous].std()  # copies a hair away are still copies
    assert table_memorisation(near, table.train, table.test, table.discrete)["copies_flagged"]


TINY = {
    "rounds": 2,
    "clients": 2,
    "local_steps": 2,
    "data.max_features": 3,
    "encoding.max_clusters": 3,
    "encoding.pseudo_rows": 100,
    "eval.samples": 60,
}


def _judged(engine: LocalEngine) -> dict[str, Any]:
    with deterministic(threads=1):
        seed_everything(0)
        return engine.algorithm.finish(engine.server)


def test_with_ema_the_servers_moving_average_is_what_is_judged(tmp_path: Path) -> None:
    spec = get_implementation("fedavg-tabular-gan")
    engine = LocalEngine(spec.target(build_config(spec, "smoke", {**TINY, "ema": 0.5}), tmp_path), tmp_path, quiet=True)
    engine.run()
    server = engine.server
    assert isinstance(server, AveragedGeneratorServer)
    before = _judged(engine)
    with torch.no_grad():
        for parameter in server.generator.parameters():
            parameter.zero_()
    assert _judged(engine) == before  # the last generator is not what is judged
    with torch.no_grad():
        for parameter in server.averaged.parameters():
            parameter.zero_()
    assert _judged(engine) != before


def test_the_quality_twin_draws_as_many_real_rows_as_the_federated_run() -> None:
    federated, twin = (
        build_config(get_implementation(name), "quality", {})
        for name in ("fedavg-tabular-gan", "centralized-tabular-gan")
    )

    def draws(config: Any) -> int:
        per_round = config.clients_per_round or config.clients
        return config.rounds * per_round * config.local_steps * config.optim.critic_steps * config.optim.batch_size

    assert federated.clients == 10 and federated.clients_per_round == 2 and federated.data.partition == "iid"
    assert twin.clients == 1 and draws(twin) == draws(federated)
    assert twin.model == federated.model and twin.optim == federated.optim and twin.ema == federated.ema
    assert federated.data.max_features is None  # the whole table
