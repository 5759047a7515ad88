"""What every tabular-GAN algorithm shares around its own protocol: table, partition, encoding, judging.

An algorithm subclasses :class:`TabularGANAlgorithm` and writes only its server and client logic. The
table is split among clients (``partition.json``/``.png`` by target class), the shared CTGAN encoding is
built from per-client summaries only (``encoding_summaries.json`` records what left each client; see
:mod:`~fedgen_registry.data.tabular_encoding`), and the final generator is judged the same way
for all: ``samples.csv`` in the run directory, the SDMetrics quality score against the held-out rows,
train-on-synthetic/test-on-real accuracy next to the train-on-real ceiling, and the distance of
synthetic rows to their closest training row (copies of training rows are flagged).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn

from fedgen_registry.data.partition import class_histogram, partition_rows
from fedgen_registry.data.tabular import TableConfig, load_table
from fedgen_registry.data.tabular_encoding import EncodingConfig, merge, summarise
from fedgen_registry.data.tabular_sampling import EncodedRows, encoded_rows
from fedgen_registry.federation.config import FederationConfig
from fedgen_registry.federation.protocol import Algorithm, Server
from fedgen_registry.federation.seeding import derive_seed
from fedgen_registry.metrics.artefacts import save_partition_report
from fedgen_registry.metrics.table import classifier_accuracy, quality, table_memorisation
from fedgen_registry.models.tabular import (
    Activation,
    TabularModelConfig,
    build_discriminator,
    build_generator,
    sample_encoded,
)
from fedgen_registry.tasks.table_step import TabularOptimConfig

SUMMARIES = "encoding_summaries.json"
SAMPLES = "samples.csv"


class TabularEvalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    samples: int | None = Field(
        None, ge=2, description="Synthetic rows to judge and write (None: as many as real rows)."
    )


class TabularGANConfig(FederationConfig):
    data: TableConfig = TableConfig()
    encoding: EncodingConfig = EncodingConfig()
    model: TabularModelConfig = TabularModelConfig()
    optim: TabularOptimConfig = TabularOptimConfig()
    eval: TabularEvalConfig = TabularEvalConfig()

    @model_validator(mode="after")
    def _batch_fits_pac(self) -> TabularGANConfig:
        if self.optim.batch_size % self.model.pac:
            raise ValueError(
                f"optim.batch_size {self.optim.batch_size} must be a multiple of model.pac {self.model.pac}"
            )
        return self


ConfigT = TypeVar("ConfigT", bound=TabularGANConfig)


@runtime_checkable
class HoldsGenerator(Protocol):
    generator: nn.Module


class TabularGANAlgorithm(Algorithm[ConfigT], Generic[ConfigT]):
    """Splits the table, builds the shared encoding from client summaries, and evaluates the final generator."""

    def __init__(self, config: ConfigT, run_dir: Path) -> None:
        super().__init__(config, run_dir)
        self.table = load_table(config.data)
        labels = self.table.labels
        self.parts = partition_rows(labels, config.clients, config.data, derive_seed(config.seed, "partition"))
        save_partition_report(class_histogram(labels, self.parts, len(self.table.classes)), run_dir)
        summaries = [
            summarise(self.client_frame(cid), self.table.discrete, config.encoding) for cid in range(config.clients)
        ]
        (run_dir / SUMMARIES).write_text(
            json.dumps([s.to_json() for s in summaries], indent=1) + "\n", encoding="utf-8"
        )
        self.encoding = merge(summaries, self.table.discrete, config.encoding, derive_seed(config.seed, "encoding"))

    @property
    def num_clients(self) -> int:
        return self.config.clients

    def client_frame(self, client_id: int) -> pd.DataFrame:
        return self.table.train.iloc[self.parts[client_id]]

    def client_rows(self, client_id: int) -> EncodedRows:
        """This client's rows in the shared encoded space, with CTGAN's training-by-sampling."""
        rows = self.encoding.encode(self.client_frame(client_id), derive_seed(self.config.seed, "encode", client_id))
        return encoded_rows(rows, self.encoding.output_info, self.config.optim.log_frequency)

    def new_generator(self) -> nn.Module:
        return build_generator(self.config.model, self.encoding.dim, self.encoding.cond_dim)

    def new_discriminator(self) -> nn.Module:
        return build_discriminator(self.config.model, self.encoding.dim, self.encoding.cond_dim)

    def finish(self, server: Server) -> dict[str, Any]:
        if not isinstance(server, HoldsGenerator):
            raise TypeError(f"{type(server).__name__} has no generator to evaluate")
        table = self.table
        count = self.config.eval.samples or len(table.train)
        activation = Activation.of(self.encoding.output_info)
        encoded = sample_encoded(
            server.generator, count, self.config.model.latent_dim, self.encoding.conditions, activation
        )
        synthetic = self.encoding.decode(encoded)
        synthetic.to_csv(self.run_dir / SAMPLES, index=False)
        return {
            **quality(table.test, synthetic, table.metadata()),
            "tstr_accuracy": classifier_accuracy(synthetic, table.test, table.target, table.discrete),
            "trtr_accuracy": classifier_accuracy(table.train, table.test, table.target, table.discrete),
            **table_memorisation(synthetic, table.train, table.test, table.discrete),
            "samples": count,
        }
