"""Centralized baselines of federated family algorithms: the same model, steps and evaluation, on one client.

A federated config becomes centralized by fixing ``clients`` to 1 (averaging one model is the
identity, so the federated code is plain training on all the rows). A federated preset becomes its
baseline by keeping the model, optimizer, evaluation and ``rounds``, dropping the federation-only
settings (the federation's and the data partition's), and multiplying ``local_steps`` by the clients
sampled per round, so both runs make the same number of batch visits. :func:`centralized_registration`
gives both to ``register``, so one call registers a twin (``implementations/baselines/<family>.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar, cast

from pydantic import Field, create_model

from fedgen_registry.data.partition import PartitionConfig
from fedgen_registry.federation.config import FederationConfig
from fedgen_registry.registry import expand_dotted

FEDERATION_ONLY = frozenset({"clients", "clients_per_round", "client_failure_rate", "quorum", "round_retries"})
"""Settings with no meaning for one client that holds every row (besides the ``data.*`` partition settings)."""
PARTITION_ONLY = frozenset(f"data.{name}" for name in PartitionConfig.model_fields)
"""How rows are split among clients: no meaning for one client either (the dataset's own settings stay)."""

C = TypeVar("C", bound=FederationConfig)


def centralized_config(federated: type[C]) -> type[C]:
    """A subclass of ``federated`` whose ``clients`` is fixed to 1."""
    return cast(
        type[C],
        create_model(
            f"Centralized{federated.__name__}",
            __base__=federated,
            __module__=federated.__module__,
            clients=(Literal[1], Field(1, description="One client holding all the data: centralized training.")),
        ),
    )


def centralized_preset(federated: type[FederationConfig], preset: Mapping[str, Any]) -> dict[str, Any]:
    """The baseline of a federated preset: same rounds, ``local_steps`` times the clients sampled per round."""
    settings = federated.model_validate(expand_dotted(preset))
    per_round = settings.clients_per_round or settings.clients
    local_steps = getattr(settings, "local_steps", None)
    if not isinstance(local_steps, int):
        raise TypeError(f"{federated.__name__} has no local_steps to scale")
    kept = {key: value for key, value in preset.items() if key not in FEDERATION_ONLY | PARTITION_ONLY}
    return {**kept, "local_steps": min(per_round, settings.clients) * local_steps}


def centralized_registration(
    federated: type[FederationConfig], presets: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """``config`` and ``presets`` of the twin of ``federated`` with these presets, as ``register`` takes them."""
    return {
        "config": centralized_config(federated),
        "presets": {name: centralized_preset(federated, preset) for name, preset in presets.items()},
    }
