"""The privacy ledger: what a run's privacy guarantee is, written as ``privacy.json`` in its run directory.

An algorithm writes it from ``finish()`` with :func:`write_ledger` (the engine knows nothing of privacy).
A run without any mechanism writes :data:`NO_PRIVACY`, so "no file" never has to be read as "no privacy".
Every number a reader needs to recompute the guarantee is here (for per-client accounting, each client's
rate and steps), and so are the assumptions the
accountant makes that the simulation may not meet (how clients or records were sampled, who clips).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fedgen_registry.federation.atomic import write_text_atomic

LEDGER_FILE = "privacy.json"


class PrivacyLedger(BaseModel):
    """One run's privacy guarantee; ``mechanism == "none"`` leaves every DP field empty."""

    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="strings")  # epsilon is inf without noise

    mechanism: Literal["none", "dp-fedavg", "dp-sgd", "laplace-local"]
    level: Literal["client", "record"] | None = Field(
        None, description="Whose contribution the guarantee hides: one client's data set, or one record."
    )
    noise_multiplier: float | None = Field(None, description="Noise std divided by the clipping norm (z).")
    clipping_norm: float | None = Field(None, description="L2 bound on one unit's contribution (C).")
    sample_rate: float | None = Field(None, description="Probability that one unit takes part in one step (q).")
    steps: int | None = Field(None, description="Noisy releases composed by the accountant.")
    steps_unit: Literal["rounds", "optimizer-steps"] | None = None
    epsilon: float | None = Field(None, description="The headline epsilon at delta, from the named accountant.")
    delta: float | None = None
    accountant: str | None = Field(None, description="Library and method that computed epsilon, and what it composed.")
    other_epsilons: dict[str, float] = Field(
        default_factory=dict,
        description="The same releases under other accountants, by name (looser bounds, or the training library's).",
    )
    per_client_epsilon: dict[str, float] | None = Field(
        None, description="Record-level DP with one accountant per client: each client's own epsilon."
    )
    per_client_releases: dict[str, tuple[float, int]] | None = Field(
        None, description="Each client's (sample rate, steps), from which its epsilon is recomputed."
    )
    secure_aggregation: str | None = Field(None, description="How updates were hidden from the server, if they were.")
    assumptions: list[str] = Field(default_factory=list, description="What the guarantee takes for granted.")


NO_PRIVACY = PrivacyLedger(
    mechanism="none", assumptions=["No privacy mechanism: updates and models are released as they are."]
)


def write_ledger(run_dir: Path, ledger: PrivacyLedger) -> Path:
    """Write ``privacy.json`` into ``run_dir`` and return its path."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LEDGER_FILE
    write_text_atomic(path, ledger.model_dump_json(indent=2) + "\n")
    return path


def read_ledger(run_dir: Path) -> PrivacyLedger:
    """The ledger a run wrote (validated)."""
    return PrivacyLedger.model_validate_json((run_dir / LEDGER_FILE).read_text(encoding="utf-8"))
