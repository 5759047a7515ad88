"""Settings every federated run shares: rounds, client sampling, seeding and fault handling.

Implementation configs extend :class:`FederationConfig`, so ``--set rounds=3`` or
``--set client_failure_rate=0.2`` works the same for every algorithm.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class FederationConfig(BaseModel):
    """What the engine reads; the algorithm's own settings live in subclasses."""

    model_config = ConfigDict(extra="forbid")

    seed: int = Field(0, description="Root seed; every client, round and stage derives its own seed from it.")
    rounds: int = Field(20, ge=1)
    clients: int = Field(10, ge=1)
    clients_per_round: int | None = Field(None, ge=1, description="Clients sampled per round (None: all).")
    client_failure_rate: float = Field(
        0.0, ge=0.0, lt=1.0, description="Chance that a sampled client drops out of a round (seeded)."
    )
    quorum: float = Field(
        0.5, ge=0.0, le=1.0, description="Fraction of the sampled clients that must answer every stage of a round."
    )
    round_retries: int = Field(2, ge=0, description="Retries of a round that misses its quorum before the run stops.")
    torch_threads: int = Field(
        1, ge=1, description="Intra-op threads; results are bit-identical only for the same count (small models: 1)."
    )
    vectorise_clients: bool = Field(
        False,
        description="Local engine: train the clients of a round together with torch.vmap where their class "
        "allows it (FedAvg-GAN's, on networks without buffers). Same batches as one at a time, equal up to "
        "float rounding, much faster with hundreds of small clients; refused where it cannot apply.",
    )

    @model_validator(mode="after")
    def _sample_at_most_every_client(self) -> FederationConfig:
        if self.clients_per_round is not None and self.clients_per_round > self.clients:
            raise ValueError(
                f"clients_per_round={self.clients_per_round} is more than clients={self.clients}; "
                f"at most {self.clients} (or leave it unset to take every client)"
            )
        return self
