"""The wheel must ship every package: setuptools only packs what pyproject.toml lists."""

from __future__ import annotations

import pytest

from conftest import REPO

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")


def test_every_package_on_disk_is_listed() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(config["packages"])
    roots = {name: REPO / folder for name, folder in config["package-dir"].items()}
    roots.setdefault("fedgen_registry", REPO / "fedgen_registry")
    on_disk = set()
    for name, folder in roots.items():
        for init in folder.rglob("__init__.py"):
            relative = init.parent.relative_to(folder).parts
            on_disk.add(".".join((name, *relative)))
    assert on_disk - listed == set(), "add these to [tool.setuptools] packages"
    assert listed - on_disk <= {"fedgen_registry._catalog"}  # a data package without __init__.py
