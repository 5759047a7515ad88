"""What one run on Flower needs, as it travels to the apps: bound to them in simulation, or in ``run_config``."""

from __future__ import annotations

import importlib

from flwr.app import UserConfig
from pydantic import BaseModel, ConfigDict, Field

from fedgen_registry.registry import REGISTRY, ImplementationSpec


class FlowerRun(BaseModel):
    """One run on Flower; in a deployment each field is a ``run_config`` key (``_`` written as ``-``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    implementation: str = Field(description="Registered implementation id, e.g. 'md-gan'.")
    module: str = Field(description="The module that registers it (imported alone: full discovery is slow).")
    config: str = Field(description="The validated config as JSON (nodes rebuild the algorithm from it).")
    run_dir: str = Field(description="Where the ServerApp writes the run directory (on the SuperLink's machine).")
    manifest: str = Field("{}", description="config.json's content as JSON (what was requested and resolved).")
    quiet: bool = True
    resume: bool = Field(False, description="Continue from the run directory's checkpoint (stateless clients only).")
    connect_timeout_s: float = Field(120.0, gt=0, description="How long to wait for enough nodes to connect.")
    reply_timeout_s: float = Field(600.0, gt=0, description="How long a stage waits for replies; late nodes fail.")
    secagg: str = Field(
        "", description="Flower SecAgg+ settings as JSON (flower.secagg.SecAggPlusSettings); empty: plain replies."
    )

    @classmethod
    def create(cls, spec: ImplementationSpec, config: BaseModel, run_dir: str, **settings: object) -> FlowerRun:
        return cls(
            implementation=spec.id,
            module=spec.target.__module__,
            config=config.model_dump_json(),
            run_dir=run_dir,
            **settings,
        )

    def spec(self) -> ImplementationSpec:
        """The registry entry, importing only the module that registers it."""
        importlib.import_module(self.module)
        return REGISTRY.get(self.implementation)

    def to_run_config(self) -> dict[str, str | bool | float]:
        return {name.replace("_", "-"): value for name, value in self.model_dump().items()}

    @classmethod
    def from_run_config(cls, run_config: UserConfig) -> FlowerRun:
        return cls.model_validate({str(key).replace("-", "_"): value for key, value in run_config.items()})
