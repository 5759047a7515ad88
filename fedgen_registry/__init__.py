"""fedgen: the reference catalogue and runnable registry of federated generative models.

``load_catalog()`` gives the catalogue (pandas, JSON, CSV, BibTeX exports); ``run(id)`` runs a paper's
reference implementation. The names below are imported lazily so that ``import fedgen_registry``
stays cheap and never pulls in torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_catalog": "fedgen_registry.catalog",
    "Catalog": "fedgen_registry.catalog",
    "CatalogError": "fedgen_registry.catalog",
    "Paper": "fedgen_registry.catalog",
    "register": "fedgen_registry.registry",
    "get_implementation": "fedgen_registry.registry",
    "list_implementations": "fedgen_registry.registry",
    "run": "fedgen_registry.runs.runner",
    "resolve": "fedgen_registry.runs.runner",
    "reproduce": "fedgen_registry.runs.reproduce",
}

__all__ = [
    "Catalog",
    "CatalogError",
    "Paper",
    "__version__",
    "get_implementation",
    "list_implementations",
    "load_catalog",
    "register",
    "reproduce",
    "resolve",
    "run",
]

if TYPE_CHECKING:
    from fedgen_registry.catalog import Catalog, CatalogError, Paper, load_catalog
    from fedgen_registry.registry import get_implementation, list_implementations, register
    from fedgen_registry.runs.runner import resolve, run


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'fedgen_registry' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
