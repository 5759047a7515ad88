"""The layered house, read from the source: imports point down the rank table, never sideways between
implementations, and never in a cycle (see :mod:`contract.layers` for how imports are read).

A module missing from the table fails the test, so a new top-level module gets its rank on purpose.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from contract.layers import Layers, cycle_lines, discover, edges, rank_violations

REPO = Path(__file__).resolve().parents[2]

RANKS = {
    "fedgen_registry.suggest": 0,
    "fedgen_registry.index": 0,
    "fedgen_registry.catalog": 1,
    "fedgen_registry.registry": 2,
    "fedgen_registry.federation": 3,
    "fedgen_registry.data": 4,
    "fedgen_registry.models": 4,
    "fedgen_registry.objectives": 5,
    "fedgen_registry.metrics": 5,
    "fedgen_registry.tasks": 6,
    "fedgen_registry.strategies": 7,
    "fedgen_registry.mechanisms": 7,
    "fedgen_registry.adversaries": 7,
    "fedgen_registry.implementations": 8,
    "fedgen_registry.runs": 9,
    "fedgen_registry.cli": 10,
    "fedgen_registry.sitegen": 10,
    "fedgen_registry.demo": 10,
    "fedgen_registry.__main__": 10,
}
"""Rank by module prefix: a module may import only modules of its own rank or lower."""

HOUSE = Layers(
    RANKS,
    exempt=frozenset({"fedgen_registry"}),  # the package __init__: lazy exports of the public API, by design
    implementations="fedgen_registry.implementations",
)


def house_modules() -> dict[str, Path]:
    """The package and the implementations folder, which installs as ``fedgen_registry.implementations``."""
    return discover({"fedgen_registry": REPO / "fedgen_registry", HOUSE.implementations: REPO / "implementations"})


def report(kind: str, problems: list[str]) -> None:
    """Fail with one line per problem, paths relative to the repository."""
    if problems:
        lines = "\n".join(line.replace(f"{REPO}/", "") for line in problems)
        pytest.fail(f"{len(problems)} {kind}:\n{lines}", pytrace=False)


def test_imports_follow_the_rank_table() -> None:
    modules = house_modules()
    report("layer violation(s)", rank_violations(modules, edges(modules), HOUSE))


def test_no_import_cycle() -> None:
    report("import cycle(s)", cycle_lines(list(edges(house_modules()))))


# ---------------------------------------------------------------------------------- the checks themselves

TOY = Layers({"pkg.low": 0, "pkg.mid": 1, "pkg.impl": 2, "pkg.top": 3}, frozenset({"pkg"}), "pkg.impl")


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


CLEAN = {
    "__init__.py": "_EXPORTS = {'run': 'pkg.top.runner'}\n",
    "low/__init__.py": "",
    "low/base.py": "import json\n",
    "mid/__init__.py": "from pkg.mid.core import thing\n",
    "mid/core.py": "from ..low import base\nfrom . import helpers\nthing = 1\n",
    "mid/helpers.py": "import pkg.low.base\n",
    "impl/__init__.py": "",
    "impl/a.py": "from pkg.mid import thing\n",
    "impl/b.py": "def f():\n    from pkg.low.base import json\n",
    "top/__init__.py": "",
    "top/runner.py": "from pkg.impl import a\n",
    "top/cli.py": "from pkg import run\n",
}


def test_a_tree_that_keeps_the_rule_passes(tmp_path: Path) -> None:
    modules = discover({"pkg": write_tree(tmp_path, CLEAN)})
    graph = list(edges(modules))
    assert ("pkg.mid.core", "pkg.low.base") in {(e.importer, e.imported) for e in graph}  # relative import resolved
    assert ("pkg.top.cli", "pkg.top.runner") in {(e.importer, e.imported) for e in graph}  # lazy export resolved
    assert rank_violations(modules, graph, TOY) == []
    assert cycle_lines(graph) == []


def test_each_kind_of_violation_is_one_line(tmp_path: Path) -> None:
    broken = {
        **CLEAN,
        "low/base.py": "def later():\n    from pkg.mid.core import thing\n",  # upward, inside a function
        "mid/helpers.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..top import runner\n",
        "impl/a.py": "from pkg.impl.b import f\n",  # an implementation importing another
        "impl/c.py": "from pkg import run\n",  # upward through the package's lazy exports
        "extra.py": "",  # a module the table does not rank
    }
    modules = discover({"pkg": write_tree(tmp_path, broken)})
    graph = list(edges(modules))
    problems = [line.split(" at ")[0] for line in rank_violations(modules, graph, TOY)]
    assert problems == [
        "pkg.extra has no rank in the layer table (" + str(tmp_path / "pkg" / "extra.py") + ")",
        "pkg.impl.a -> pkg.impl.b (an implementation imports another)",
        "pkg.impl.c -> pkg.top.runner (rank 2 -> 3)",
        "pkg.low.base -> pkg.mid.core (rank 0 -> 1)",
        "pkg.mid.helpers -> pkg.top.runner (rank 1 -> 3)",
    ]
    (cycle,) = cycle_lines(graph)  # low.base -> mid.core -> low.base; the TYPE_CHECKING import closes none
    assert cycle.startswith("import cycle pkg.low.base <-> pkg.mid <-> pkg.mid.core: ")  # mid/__init__ runs core
    assert "pkg.low.base -> pkg.mid.core at" in cycle and "pkg.mid.core -> pkg.low.base at" in cycle


def test_a_cycle_through_a_package_init_counts(tmp_path: Path) -> None:
    """``b -> a.x`` runs ``a/__init__``; with ``a/__init__ -> b`` that is a cycle no single statement shows."""
    tree = {
        "__init__.py": "",
        "low/__init__.py": "from pkg.mid import api\n",
        "low/x.py": "",
        "mid/__init__.py": "",
        "mid/api.py": "from pkg.low.x import *\n",
    }
    graph = list(edges(discover({"pkg": write_tree(tmp_path, tree)})))
    assert [line.split(":")[0] for line in cycle_lines(graph)] == ["import cycle pkg.low <-> pkg.mid.api"]


@pytest.mark.parametrize("module", ["pkg.lowest", "pkg.middle.x"])
def test_ranks_match_whole_name_parts(module: str) -> None:
    assert TOY.rank(module) is None
