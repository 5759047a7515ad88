"""The implementation registry: ``@register`` beside each algorithm, lookup by id, explicit discovery.

Lessons taken from timm's model registry: registration only records the entry (no side effects), presets
live beside the entry that they configure, listing uses fnmatch patterns with a natural sort. Unlike
timm, discovery is explicit and complete: :func:`discover` imports every module of the implementations
package, so an entry can never be missing because nobody happened to import its module, and a duplicate
id is an error at import instead of a silent overwrite. Asking for one id imports only the module that
declares it, so running a GAN does not pay for importing diffusers and transformers.

The catalogue needs to know which ids exist without importing torch; :mod:`fedgen_registry.index` reads
the ``@register("...")`` calls from the source files instead (a test keeps it equal to the imported registry).
"""

from __future__ import annotations

import fnmatch
import importlib
import pkgutil
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from fedgen_registry.catalog.claims import Claim
from fedgen_registry.index import IMPLEMENTATIONS_PACKAGE, declared_modules
from fedgen_registry.suggest import UnknownIdError

_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

T = TypeVar("T")


class RegistryError(Exception):
    """A registration that cannot be accepted (duplicate id, bad id, preset that does not validate)."""


@dataclass(frozen=True)
class ImplementationSpec:
    """What the registry knows of one implementation."""

    id: str
    target: Any
    config: type[BaseModel]
    family: str
    summary: str
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    module: str = ""
    claim: Claim | None = None
    """The paper's headline claim as a comparison ``fedgen reproduce`` decides."""

    def preset(self, name: str | None) -> Mapping[str, Any]:
        """The overrides of a named preset (``None``: the config's defaults)."""
        if name is None:
            return {}
        try:
            return self.presets[name]
        except KeyError:
            known = sorted(self.presets)
            raise UnknownIdError(f"preset of {self.id!r} (known: {', '.join(known) or 'none'})", name, known) from None


class Registry:
    """A mapping from implementation id to :class:`ImplementationSpec`; duplicates are refused."""

    def __init__(self) -> None:
        self._specs: dict[str, ImplementationSpec] = {}

    def register(
        self,
        implementation_id: str,
        *,
        config: type[BaseModel],
        family: str,
        summary: str,
        presets: Mapping[str, Mapping[str, Any]] | None = None,
        claim: Claim | None = None,
    ) -> Callable[[T], T]:
        """Decorator: record ``target`` under ``implementation_id``. Each preset must validate against ``config``."""
        if not _ID.match(implementation_id):
            raise RegistryError(f"implementation id {implementation_id!r} must be lowercase kebab-case")
        frozen_presets = {name: MappingProxyType(dict(values)) for name, values in (presets or {}).items()}
        for name, values in frozen_presets.items():
            try:
                config.model_validate(expand_dotted(values))
            except ValidationError as exc:
                raise RegistryError(f"preset {name!r} of {implementation_id!r} does not validate: {exc}") from exc

        def decorator(target: T) -> T:
            module = getattr(target, "__module__", "")
            existing = self._specs.get(implementation_id)
            if existing is not None:
                raise RegistryError(
                    f"implementation id {implementation_id!r} registered twice: in {existing.module} and in {module}"
                )
            self._specs[implementation_id] = ImplementationSpec(
                implementation_id, target, config, family, summary, MappingProxyType(frozen_presets), module, claim
            )
            return target

        return decorator

    def get(self, implementation_id: str) -> ImplementationSpec:
        try:
            return self._specs[implementation_id]
        except KeyError:
            raise UnknownIdError("implementation", implementation_id, self._specs) from None

    def ids(self, pattern: str = "*", exclude: Iterable[str] = ()) -> list[str]:
        excluded = list(exclude)
        chosen = [
            i
            for i in self._specs
            if fnmatch.fnmatchcase(i, pattern) and not any(fnmatch.fnmatchcase(i, e) for e in excluded)
        ]
        return sorted(chosen, key=natural_key)

    def __contains__(self, implementation_id: object) -> bool:
        return implementation_id in self._specs

    def __len__(self) -> int:
        return len(self._specs)


def natural_key(text: str) -> list[Any]:
    """Sort key that orders ``gan-2`` before ``gan-10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def expand_dotted(values: Mapping[str, Any]) -> dict[str, Any]:
    """``{"data.alpha": 0.1, "rounds": 3}`` -> ``{"data": {"alpha": 0.1}, "rounds": 3}`` (nested dicts merge)."""
    result: dict[str, Any] = {}
    for key, value in values.items():
        parts = key.split(".")
        node = result
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"{key!r} sets a field inside {part!r}, which is not a group of settings")
            node = child
        leaf = parts[-1]
        if isinstance(value, Mapping):
            existing = node.setdefault(leaf, {})
            if not isinstance(existing, dict):
                raise ValueError(f"{key!r} is set both as a value and as a group")
            existing.update(expand_dotted(value))
        else:
            node[leaf] = value
    return result


class PackageRegistry(Registry):
    """The registry of the implementations package, loaded as far as each question needs.

    Running one paper should not import every library of every family (diffusers, transformers, ctgan):
    asking for an id imports only the module that declares it (found by :func:`~fedgen_registry.index.declared_modules`),
    while listing or a miss imports the whole package, so duplicates and listings stay complete.
    """

    def __init__(self, package: str) -> None:
        super().__init__()
        self.package = package
        self._complete = False

    def discover_all(self) -> PackageRegistry:
        if not self._complete:
            package = importlib.import_module(self.package)
            for module in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + "."):
                importlib.import_module(module.name)
            self._complete = True
        return self

    def get(self, implementation_id: str) -> ImplementationSpec:
        if implementation_id not in self._specs:
            module = declared_modules().get(implementation_id)
            if module is not None:
                importlib.import_module(module)
        if implementation_id not in self._specs:
            self.discover_all()
        return super().get(implementation_id)

    def ids(self, pattern: str = "*", exclude: Iterable[str] = ()) -> list[str]:
        return super(PackageRegistry, self.discover_all()).ids(pattern, exclude)

    def __contains__(self, implementation_id: object) -> bool:
        return super().__contains__(implementation_id) or implementation_id in declared_modules()

    def __len__(self) -> int:
        return super(PackageRegistry, self.discover_all()).__len__()


REGISTRY = PackageRegistry(IMPLEMENTATIONS_PACKAGE)
register = REGISTRY.register


def discover() -> Registry:
    """Import every module of the implementations package once, so the registry is complete."""
    return REGISTRY.discover_all()


def get_implementation(implementation_id: str) -> ImplementationSpec:
    """The implementation with this id, importing only the module that declares it."""
    return REGISTRY.get(implementation_id)


def list_implementations(pattern: str = "*", exclude: Iterable[str] = ()) -> list[str]:
    """Registered ids matching the fnmatch ``pattern`` (e.g. ``"*gan*"``), minus ``exclude`` patterns."""
    return REGISTRY.ids(pattern, exclude)
