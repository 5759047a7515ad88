"""What every LoRA language-model algorithm shares around its own protocol: corpus, partition, model, judging.

An algorithm subclasses :class:`LoRALMAlgorithm`, writes its server and client logic and hands the final
model to :meth:`LoRALMAlgorithm.judge`. The
generated corpus is split among clients by topic with the project's partitioners (``partition.json``/
``.png``), the shared frozen base is pre-trained once on public sentences of other topics (every party
would derive the same weights from the run's seed), and the final model is judged
the same way for all: held-out perplexity next to the base's before tuning (adapters at zero) and to
count-based n-grams of the pooled training text (unigram, bigram, 5-gram), and a few sampled lines in
``samples.txt``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Generic, TypeVar

import torch
from peft import PeftModel
from pydantic import Field

from fedgen_registry.data.partition import PartitionConfig, class_histogram, partition_rows
from fedgen_registry.data.text import (
    END,
    TOPICS,
    CharTokenizer,
    corpus_alphabet,
    public_corpus,
    synthetic_corpus,
)
from fedgen_registry.federation.config import FederationConfig
from fedgen_registry.federation.protocol import Algorithm
from fedgen_registry.federation.seeding import derive_seed, deterministic
from fedgen_registry.metrics.artefacts import save_partition_report
from fedgen_registry.models.lm import LoRALMConfig, build_base, with_lora
from fedgen_registry.objectives.lm import LMOptimConfig, TokenStream, ngram_perplexity, perplexity, train_steps

SAMPLES = "samples.txt"
MAX_LINE = 120  # characters per sampled line (the context slides past block_size)
NGRAM_BASELINES = {"unigram_perplexity": 1, "bigram_perplexity": 2, "fivegram_perplexity": 5}
"""Count models of the pooled training text judged beside every run; 5 is the add-one order that scores
best on this corpus (orders 1-6 tried), so a tuned model is held against the strongest of them."""


def pretrain_base(config: LoRALMConfig, vocab_size: int, public: TokenStream, seed: int) -> dict[str, torch.Tensor]:
    """The shared base's weights: :func:`~fedgen_registry.models.lm.build_base`, then ``pretrain_steps``
    AdamW steps on public text.

    Seeded, single-threaded and in a forked RNG, so every party computes the same weights and the
    caller's random streams are untouched.
    """
    base = build_base(config, vocab_size, seed)
    with torch.random.fork_rng(devices=[]), deterministic(threads=1):
        torch.manual_seed(seed)
        if config.pretrain_steps:
            optim = LMOptimConfig(batch_size=config.pretrain_batch_size, lr=config.pretrain_lr)
            train_steps(base, public, config.pretrain_steps, config.block_size, optim)
    return {name: value.detach().clone() for name, value in base.state_dict().items()}


class CorpusConfig(PartitionConfig):
    """The generated corpus and how its training sentences are split among clients (labels: topics)."""

    sentences: int = Field(2000, ge=50, description="Private sentences generated in all (train and held-out).")
    public_sentences: int = Field(
        1000, ge=10, description="Public sentences (other topics) the base is pre-trained on."
    )


class LoRALMRunConfig(FederationConfig):
    data: CorpusConfig = CorpusConfig()
    model: LoRALMConfig = LoRALMConfig()
    optim: LMOptimConfig = LMOptimConfig()
    sample_lines: int = Field(5, ge=0, description="Sentences sampled from the final model into samples.txt.")


ConfigT = TypeVar("ConfigT", bound=LoRALMRunConfig)


class LoRALMAlgorithm(Algorithm[ConfigT], Generic[ConfigT]):
    """Splits the corpus by topic, builds the shared frozen base, and evaluates the final adapters."""

    def __init__(self, config: ConfigT, run_dir: Path) -> None:
        super().__init__(config, run_dir)
        self.train, self.test = synthetic_corpus(config.data.sentences)
        self.tokenizer = CharTokenizer(corpus_alphabet())
        self.parts = partition_rows(
            self.train.topics, config.clients, config.data, derive_seed(config.seed, "partition")
        )
        save_partition_report(class_histogram(self.train.topics, self.parts, len(TOPICS)), run_dir)
        public = self.stream(public_corpus(config.data.public_sentences).text())
        seed = derive_seed(config.seed, "base")
        self.base_state = pretrain_base(config.model, self.tokenizer.vocab_size, public, seed)

    @property
    def num_clients(self) -> int:
        return self.config.clients

    def stream(self, sentences: str) -> TokenStream:
        return TokenStream(torch.as_tensor(self.tokenizer.encode(sentences)))

    def client_stream(self, client_id: int) -> TokenStream:
        return self.stream(self.train.subset(self.parts[client_id]).text())

    def client_size(self, client_id: int) -> int:
        """Sentences a client holds: the FedAvg weight."""
        return len(self.parts[client_id])

    def new_model(self) -> PeftModel:
        """The shared frozen base (same weights for every party of this run) with fresh adapters."""
        base = build_base(self.config.model, self.tokenizer.vocab_size, derive_seed(self.config.seed, "base"))
        base.load_state_dict(self.base_state)
        return with_lora(base, self.config.model)

    def judge(self, model: PeftModel) -> dict[str, Any]:
        """Held-out perplexity of the final adapters, of the bare base (zero steps) and of the
        :data:`NGRAM_BASELINES` on the same tokens; ``samples.txt`` of sampled lines."""
        held_out, block = self.stream(self.test.text()), self.config.model.block_size
        lines = [sample_line(model, self.tokenizer, block) for _ in range(self.config.sample_lines)]
        (self.run_dir / SAMPLES).write_text("".join(lines), encoding="utf-8")
        pooled, vocab_size = self.stream(self.train.text()), self.tokenizer.vocab_size
        return {
            "perplexity": perplexity(model, held_out, block),
            "base_perplexity": perplexity(self.new_model(), held_out, block),
            **{key: ngram_perplexity(pooled, held_out, vocab_size, n, block) for key, n in NGRAM_BASELINES.items()},
            "vocab_size": vocab_size,
        }


@torch.no_grad()
def sample_line(model: PeftModel, tokenizer: CharTokenizer, block_size: int) -> str:
    """One sentence sampled token by token after an end-of-sentence token, up to :data:`MAX_LINE` tokens."""
    end = int(tokenizer.encode(END)[0])
    ids = torch.tensor([[end]])
    model.eval()
    for _ in range(MAX_LINE):
        logits = model(input_ids=ids[:, -block_size:]).logits[0, -1]
        token = torch.multinomial(torch.softmax(logits, dim=-1), 1)
        ids = torch.cat([ids, token.view(1, 1)], dim=1)
        if int(token) == end:
            break
    model.train()
    text = tokenizer.decode(ids[0, 1:].numpy())
    return text if text.endswith(END) else text + END
