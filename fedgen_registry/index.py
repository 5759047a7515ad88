"""The static index of implementation ids: which module declares which id, read from the sources as text.

The catalogue checks the ids its entries name, and the registry imports the one module an id needs,
without importing any implementation (and so without torch). This module depends on the standard
library alone, so both can use it without depending on each other.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

IMPLEMENTATIONS_PACKAGE = "fedgen_registry.implementations"

_REGISTER_CALL = re.compile(r"""\bregister\(\s*["']([a-z0-9]+(?:-[a-z0-9]+)*)["']""")


def implementations_dir() -> Path:
    """Where the implementation sources are, without importing them."""
    spec = importlib.util.find_spec(IMPLEMENTATIONS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return Path(__file__).resolve().parents[1] / "implementations"
    return Path(next(iter(spec.submodule_search_locations)))


def declared_modules(root: Path | None = None) -> dict[str, str]:
    """Id -> module name for every ``register("...")`` in the implementation sources, read as text.

    No import and no torch: the catalogue checks ids with it, and the registry imports one module
    from it. A regular expression rather than an AST walk keeps ``fedgen list`` fast as
    implementations grow; a test keeps this static index equal to the registry that importing builds.
    """
    folder = root or implementations_dir()
    found: dict[str, str] = {}
    for source in sorted(folder.rglob("*.py")):
        parts = source.relative_to(folder).with_suffix("").parts
        module = ".".join((IMPLEMENTATIONS_PACKAGE, *(parts[:-1] if parts[-1] == "__init__" else parts)))
        for implementation_id in _REGISTER_CALL.findall(source.read_text(encoding="utf-8")):
            found.setdefault(implementation_id, module)
    return found


def declared_ids(root: Path | None = None) -> set[str]:
    """The ids of :func:`declared_modules` (no import, no torch)."""
    return set(declared_modules(root))
