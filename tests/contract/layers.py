"""The import graph of a source tree, read from its ``import`` statements, and the layer rule checked on it.

Every ``import`` and ``from ... import`` counts wherever it stands (module level, inside a function or a
class, under ``if TYPE_CHECKING:``, in a ``try``), with relative imports resolved against the importer's
package and ``from package import name`` resolved to the submodule when ``name`` is one. Only what the
tree itself defines is followed; the standard library and third-party packages are not ranked.

The rule has three parts: a module imports only modules of its own rank or lower; an implementation
imports no other implementation; and the modules form no import cycle. Imports guarded by
``if TYPE_CHECKING:`` never run, so they count for ranks (a type-only dependency upward is still a
dependency upward) but not for cycles. Function-level imports do count for cycles: they run, and a
module pair that needs each other at run time is the tangle the layers exist to prevent, whether or
not the first import is deferred.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Edge:
    """One import statement: ``importer`` imports ``imported`` at ``where`` (path:line)."""

    importer: str
    imported: str
    where: str
    type_only: bool


@dataclass(frozen=True)
class Layers:
    """The rule for one tree: ranks by module prefix, the exempt modules and the implementations package."""

    ranks: Mapping[str, int]
    exempt: frozenset[str]
    implementations: str

    def rank(self, module: str) -> int | None:
        """The rank of the longest table prefix of ``module`` (``a.b`` is a prefix of ``a.b.c``, not of ``a.bc``)."""
        parts = module.split(".")
        for end in range(len(parts), 0, -1):
            rank = self.ranks.get(".".join(parts[:end]))
            if rank is not None:
                return rank
        return None


def discover(roots: Mapping[str, Path]) -> dict[str, Path]:
    """Module name -> source file for every ``.py`` under each root, the root being the named package."""
    modules: dict[str, Path] = {}
    for package, folder in roots.items():
        for source in sorted(folder.rglob("*.py")):
            parts = source.relative_to(folder).with_suffix("").parts
            if "__pycache__" in parts:
                continue
            name = ".".join((package, *(parts[:-1] if parts[-1] == "__init__" else parts)))
            modules[name] = source
    return modules


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """The ids of the import nodes under an ``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``) block."""
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else test.attr if isinstance(test, ast.Attribute) else ""
            if name == "TYPE_CHECKING":
                for statement in node.body:
                    guarded.update(id(inner) for inner in ast.walk(statement))
    return guarded


def _lazy_exports(source: Path) -> dict[str, str]:
    """A package ``__init__``'s ``_EXPORTS = {"name": "module", ...}`` table of lazy re-exports, if it has one."""
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in node.targets):
            value = ast.literal_eval(node.value)
            return {str(name): str(module) for name, module in value.items()}
    return {}


def edges(modules: Mapping[str, Path]) -> Iterator[Edge]:
    """Every import of a tree module by a tree module (names that are not the tree's are left out)."""
    packages = {name.split(".")[0] for name in modules}
    exports = {
        name: _lazy_exports(path) for name, path in modules.items() if path.name == "__init__.py" and "." not in name
    }

    def known(target: str) -> str:
        """The module itself, or the longest tree module that contains the imported name."""
        parts = target.split(".")
        for end in range(len(parts), 0, -1):
            candidate = ".".join(parts[:end])
            if candidate in modules:
                return candidate
        return target

    for importer, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        guarded = _type_checking_nodes(tree)
        package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, *([node.module] if node.module else [])])
                else:
                    base = node.module or ""
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    if submodule in modules:
                        targets.append(submodule)
                    elif alias.name in exports.get(base, {}):
                        targets.append(exports[base][alias.name])
                    else:
                        targets.append(base)
            for target in targets:
                if target.split(".")[0] in packages:
                    yield Edge(importer, known(target), f"{path}:{node.lineno}", id(node) in guarded)


def _ancestors(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:end]) for end in range(1, len(parts))}


def _runs(edge: Edge) -> set[str]:
    """What an import runs: the module and the packages above it that the importer is not already inside."""
    return ({edge.imported} | _ancestors(edge.imported)) - _ancestors(edge.importer) - {edge.importer}


def rank_violations(modules: Mapping[str, Path], graph: Iterable[Edge], layers: Layers) -> list[str]:
    """One line per module without a rank, per upward import, and per implementation importing another."""
    problems = [
        f"{name} has no rank in the layer table ({path})"
        for name, path in sorted(modules.items())
        if name not in layers.exempt and layers.rank(name) is None
    ]
    inside = layers.implementations + "."
    for edge in graph:
        if edge.importer in layers.exempt or edge.imported in layers.exempt:
            continue
        low, high = layers.rank(edge.importer), layers.rank(edge.imported)
        if low is not None and high is not None and high > low:
            problems.append(f"{edge.importer} -> {edge.imported} (rank {low} -> {high}) at {edge.where}")
        if (
            edge.importer.startswith(inside)
            and edge.imported.startswith(inside)
            and edge.imported not in _ancestors(edge.importer)
        ):
            problems.append(f"{edge.importer} -> {edge.imported} (an implementation imports another) at {edge.where}")
    return sorted(set(problems))


def cycles(graph: Iterable[Edge]) -> list[list[str]]:
    """The import cycles (strongly connected components of two or more modules, or a module importing itself).

    Importing ``a.b.c`` runs the ``__init__`` of ``a`` and ``a.b`` first, so those count as imported too:
    ``registry -> catalog.query`` with ``catalog/__init__ -> registry`` is a cycle although no statement
    names ``catalog`` alone. Tarjan's algorithm, iterative so that a deep tree cannot exhaust Python's recursion limit.
    """
    successors: dict[str, set[str]] = {}
    for edge in graph:
        if not edge.type_only:
            for target in _runs(edge):
                successors.setdefault(edge.importer, set()).add(target)
                successors.setdefault(target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(successors):
        if root in index:
            continue
        work = [(root, iter(sorted(successors[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(successors[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in successors[node]:
                    found.append(sorted(component))
    return sorted(found)


def cycle_lines(graph: list[Edge]) -> list[str]:
    """One line per cycle, with the imports that close it (importer -> imported at path:line)."""
    lines = []
    for component in cycles(graph):
        members = set(component)
        links = sorted(
            {
                f"{e.importer} -> {e.imported} at {e.where}"
                for e in graph
                if not e.type_only and e.importer in members and members & _runs(e)
            }
        )
        lines.append(f"import cycle {' <-> '.join(component)}: " + "; ".join(links))
    return lines
