"""From an id to a run: resolve paper -> implementation + preset -> validated config, then dispatch.

Settings are layered: the config model's defaults, then the preset (the paper's own settings, or the
one named explicitly), then the caller's overrides. Every layer is validated by the implementation's
pydantic config, so a misspelt key or a wrong type is refused before anything runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ValidationError

from fedgen_registry.catalog import Catalog, Paper, load_catalog
from fedgen_registry.catalog.loader import format_location
from fedgen_registry.catalog.vocab import ImplementationStatus
from fedgen_registry.federation.protocol import is_algorithm
from fedgen_registry.registry import REGISTRY, ImplementationSpec, Registry, expand_dotted
from fedgen_registry.suggest import UnknownIdError, did_you_mean

if TYPE_CHECKING:
    from fedgen_registry.data.local import SampleMeter

ENGINES = ("local", "flower")


class RunError(Exception):
    """A run that cannot start: unknown id, planned implementation, bad override. One line, no traceback."""


@dataclass(frozen=True)
class ResolvedRun:
    """Everything needed to start a run, decided before anything heavy is imported."""

    requested: str
    paper: Paper | None
    spec: ImplementationSpec
    preset: str | None
    config: BaseModel

    def describe(self) -> dict[str, Any]:
        return {
            "requested": self.requested,
            "paper": self.paper.id if self.paper else None,
            "implementation": self.spec.id,
            "preset": self.preset,
            "config": self.config.model_dump(mode="json"),
        }


@dataclass(frozen=True)
class RunContext:
    """What an implementation receives besides its config: where to write, which engine, whether to resume.

    ``meter``: counts the real rows the run draws (its sample budget, read by ``fedgen compare``); it
    counts from the build to the final evaluation, and only rows drawn in this process.
    """

    run_dir: Path
    engine: str = "local"
    resume: bool = False
    quiet: bool = False
    meter: SampleMeter | None = None


def parse_assignments(assignments: Sequence[str]) -> dict[str, Any]:
    """``["rounds=3", "data.alpha=0.1"]`` -> ``{"rounds": 3, "data.alpha": 0.1}``; values are YAML scalars."""
    overrides: dict[str, Any] = {}
    for item in assignments:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise RunError(f"--set expects key=value, got {item!r} (e.g. --set rounds=3 --set data.alpha=0.1)")
        try:
            overrides[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            overrides[key.strip()] = raw
    return overrides


def config_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Dotted names of every setting of a config model (nested models expanded)."""
    keys: list[str] = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys.extend(config_keys(annotation, f"{prefix}{name}."))
        else:
            keys.append(prefix + name)
    return keys


def build_config(spec: ImplementationSpec, preset: str | None, overrides: Mapping[str, Any]) -> BaseModel:
    merged = expand_dotted(spec.preset(preset))
    try:
        _deep_update(merged, expand_dotted(overrides))
    except ValueError as exc:
        raise RunError(str(exc)) from None
    try:
        return spec.config.model_validate(merged)
    except ValidationError as exc:
        keys = config_keys(spec.config)
        lines = []
        for err in exc.errors(include_url=False):
            where = format_location(err["loc"])
            if err["type"] == "extra_forbidden":
                lines.append(f"unknown setting {where!r}{did_you_mean(where, keys)}; valid settings: {', '.join(keys)}")
            elif err["type"] == "value_error" and not where:  # a rule across settings: its message names them
                lines.append(str(err["ctx"]["error"]) if "ctx" in err else err["msg"])
            else:
                lines.append(f"{where}: {err['msg']} (got {err.get('input')!r})")
        raise RunError(f"invalid settings for {spec.id}: " + "; ".join(lines)) from None


def _deep_update(base: dict[str, Any], update: Mapping[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _deep_update(base[key], value)
        else:
            base[key] = value


def resolve(
    requested: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    preset: str | None = None,
    catalog: Catalog | None = None,
    registry: Registry | None = None,
) -> ResolvedRun:
    """Resolve a paper id or an implementation id (with an optional preset) to a validated config."""
    registry = registry if registry is not None else REGISTRY
    catalog = catalog if catalog is not None else load_catalog()
    overrides = overrides or {}
    if requested in catalog:
        paper = catalog.get(requested)
        impl = paper.implementation
        if impl is None:
            raise RunError(f"paper {requested!r} has no implementation entry")
        if impl.status is ImplementationStatus.PLANNED:
            raise RunError(
                f"the implementation {impl.id!r} of {requested!r} is planned but not available yet; "
                f"available: {', '.join(registry.ids()) or 'none so far'}"
            )
        spec = registry.get(impl.id)
        chosen = preset or impl.preset
        return ResolvedRun(requested, paper, spec, chosen, build_config(spec, chosen, overrides))
    if requested in registry:
        spec = registry.get(requested)
        return ResolvedRun(requested, None, spec, preset, build_config(spec, preset, overrides))
    raise UnknownIdError("paper or implementation", requested, [*catalog.ids, *registry.ids()])


def default_run_dir(resolved: ResolvedRun) -> Path:
    return Path(os.environ.get("FEDGEN_RUNS", "runs")) / resolved.requested


def execute(resolved: ResolvedRun, context: RunContext) -> Any:
    """Write the resolved config into the run directory, then hand over to the implementation.

    An :class:`~fedgen_registry.federation.protocol.Algorithm` class is run by the chosen engine (which
    writes the config once a resume is known to fit, then history, checkpoints and metrics); any other
    registered callable is called as it is. The context's meter, if any, counts for the whole call.
    """
    if context.engine not in ENGINES:
        raise RunError(f"unknown engine {context.engine!r}; engines: {', '.join(ENGINES)}")
    with context.meter.counting() if context.meter is not None else nullcontext():
        if context.engine == "flower":
            return _execute_on_flower(resolved, context)
        return _execute_locally(resolved, context)


def _execute_on_flower(resolved: ResolvedRun, context: RunContext) -> Any:
    if not is_algorithm(resolved.spec.target):
        raise RunError(f"{resolved.spec.id} is not a federated algorithm; run it with --engine local")
    from fedgen_registry.federation.errors import FederationError
    from fedgen_registry.runs.flower import run_flower

    try:
        summary = run_flower(
            resolved.spec,
            resolved.config,
            context.run_dir,
            resume=context.resume,
            quiet=context.quiet,
            manifest=resolved.describe(),
        )
    except FederationError as exc:
        raise RunError(str(exc)) from exc
    return {**summary, "run_dir": str(context.run_dir)}


def _execute_locally(resolved: ResolvedRun, context: RunContext) -> Any:
    context.run_dir.mkdir(parents=True, exist_ok=True)
    target = resolved.spec.target
    if not is_algorithm(target):
        (context.run_dir / "config.json").write_text(json.dumps(resolved.describe(), indent=2) + "\n", encoding="utf-8")
        return target(resolved.config, context)
    from fedgen_registry.federation.errors import FederationError, one_line
    from fedgen_registry.runs.execute import run_algorithm

    try:
        summary = run_algorithm(
            target,
            resolved.config,
            context.run_dir,
            resume=context.resume,
            quiet=context.quiet,
            manifest=resolved.describe(),
        )
    except FederationError as exc:
        raise RunError(str(exc)) from exc
    except OSError as exc:  # a file the run writes outside a round (partition, metrics, ledger): one line
        raise RunError(f"cannot write in {context.run_dir} ({one_line(exc)}); files already written are kept") from None
    return {**summary, "run_dir": str(context.run_dir)}


def run(
    paper_or_implementation_id: str,
    *,
    preset: str | None = None,
    engine: str = "local",
    out: str | os.PathLike[str] | None = None,
    resume: bool = False,
    quiet: bool = False,
    **overrides: Any,
) -> Any:
    """Run a paper's reference implementation by id: ``run("md-gan-2018", rounds=3, **{"data.alpha": 0.1})``."""
    resolved = resolve(paper_or_implementation_id, overrides, preset=preset)
    run_dir = Path(out) if out is not None else default_run_dir(resolved)
    return execute(resolved, RunContext(run_dir=run_dir, engine=engine, resume=resume, quiet=quiet))
