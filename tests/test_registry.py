"""Registry and run resolution: ids, presets, dotted overrides, clear errors, dispatch."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from fedgen_registry import registry as registry_module
from fedgen_registry.index import declared_ids
from fedgen_registry.registry import Registry, RegistryError, expand_dotted
from fedgen_registry.runs.runner import RunContext, RunError, execute, parse_assignments, resolve
from fedgen_registry.suggest import UnknownIdError


class DataConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    alpha: float = 1.0
    clients: int = 10


class ToyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rounds: int = 5
    lr: float = 0.01
    data: DataConfig = DataConfig()


def make_registry() -> Registry:
    reg = Registry()
    calls: list = []

    @reg.register(
        "toy-impl", config=ToyConfig, family="gan", summary="toy", presets={"delta": {"rounds": 2, "data.alpha": 0.5}}
    )
    def toy(config: ToyConfig, context: RunContext) -> dict:
        calls.append((config, context))
        return {"rounds_run": config.rounds}

    reg.calls = calls  # type: ignore[attr-defined]
    for name in ("gan-10", "gan-2", "vae-1"):
        reg.register(name, config=ToyConfig, family="x", summary="")(lambda c, ctx: None)
    return reg


def test_duplicate_id_raises_naming_both_modules() -> None:
    reg = make_registry()
    with pytest.raises(RegistryError, match="registered twice"):
        reg.register("toy-impl", config=ToyConfig, family="gan", summary="again")(lambda c, ctx: None)


def test_bad_id_and_bad_preset_are_refused_at_registration() -> None:
    reg = Registry()
    with pytest.raises(RegistryError, match="kebab-case"):
        reg.register("Bad_Id", config=ToyConfig, family="x", summary="")
    with pytest.raises(RegistryError, match="preset 'paper'"):
        reg.register("ok", config=ToyConfig, family="x", summary="", presets={"paper": {"rounds": "many"}})


def test_list_with_fnmatch_and_natural_sort() -> None:
    reg = make_registry()
    assert reg.ids("gan-*") == ["gan-2", "gan-10"]
    assert reg.ids("*", exclude=["gan-*"]) == ["toy-impl", "vae-1"]


def test_unknown_implementation_suggests() -> None:
    with pytest.raises(UnknownIdError, match="did you mean 'toy-impl'"):
        make_registry().get("toy-imp")


def test_expand_dotted_merges_groups() -> None:
    assert expand_dotted({"rounds": 3, "data.alpha": 0.1, "data": {"clients": 4}}) == {
        "rounds": 3,
        "data": {"alpha": 0.1, "clients": 4},
    }
    with pytest.raises(ValueError, match="not a group"):
        expand_dotted({"rounds": 3, "rounds.x": 1})


def test_parse_assignments_reads_yaml_scalars() -> None:
    assert parse_assignments(["rounds=3", "data.alpha=0.1", "name=abc", "flag=true"]) == {
        "rounds": 3,
        "data.alpha": 0.1,
        "name": "abc",
        "flag": True,
    }
    with pytest.raises(RunError, match="key=value"):
        parse_assignments(["rounds"])


def test_resolve_paper_layers_defaults_preset_and_overrides(toy_catalog) -> None:
    reg = make_registry()
    resolved = resolve("delta-attack-2022", {"data.clients": 4}, catalog=toy_catalog, registry=reg)
    assert resolved.spec.id == "toy-impl" and resolved.preset == "delta"
    assert resolved.config.model_dump() == {"rounds": 2, "lr": 0.01, "data": {"alpha": 0.5, "clients": 4}}


def test_resolve_implementation_id_uses_defaults(toy_catalog) -> None:
    resolved = resolve("toy-impl", {"rounds": 7}, catalog=toy_catalog, registry=make_registry())
    assert resolved.paper is None and resolved.config.rounds == 7 and resolved.config.data.alpha == 1.0


def test_wrong_key_lists_valid_keys_and_suggests(toy_catalog) -> None:
    with pytest.raises(RunError) as excinfo:
        resolve("toy-impl", {"data.alpah": 0.1}, catalog=toy_catalog, registry=make_registry())
    message = str(excinfo.value)
    assert "unknown setting 'data.alpah'; did you mean 'data.alpha'?" in message
    assert "valid settings: rounds, lr, data.alpha, data.clients" in message
    assert "\n" not in message


def test_wrong_type_is_one_line(toy_catalog) -> None:
    with pytest.raises(RunError, match=r"rounds: .*integer.*\(got 'many'\)"):
        resolve("toy-impl", {"rounds": "many"}, catalog=toy_catalog, registry=make_registry())


def test_planned_implementation_and_unknown_id(toy_catalog) -> None:
    with pytest.raises(RunError, match="planned but not available"):
        resolve("epsilon-lm-2024", catalog=toy_catalog, registry=make_registry())
    with pytest.raises(UnknownIdError, match="did you mean 'delta-attack-2022'"):
        resolve("delta-attack-2021", catalog=toy_catalog, registry=make_registry())


def test_execute_dispatches_and_writes_config(toy_catalog, tmp_path: Path) -> None:
    reg = make_registry()
    resolved = resolve("delta-attack-2022", catalog=toy_catalog, registry=reg)
    result = execute(resolved, RunContext(run_dir=tmp_path / "run"))
    assert result == {"rounds_run": 2}
    config, context = reg.calls[0]
    assert config.rounds == 2 and context.engine == "local"
    assert '"implementation": "toy-impl"' in (tmp_path / "run" / "config.json").read_text()


def test_declared_ids_read_statically(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text('from x import register\n@register("alpha-gan", config=C)\nclass A: ...\n')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.py").write_text('import fedgen_registry.registry as r\nr.register("beta", config=C)(f)\n')
    assert declared_ids(tmp_path) == {"alpha-gan", "beta"}


def test_static_index_matches_the_imported_registry() -> None:
    assert declared_ids() == set(registry_module.discover().ids())


def test_asking_for_one_id_imports_only_its_module() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from fedgen_registry.index import declared_modules\n"
        "from fedgen_registry.registry import get_implementation\n"
        "spec = get_implementation('md-gan')\n"
        "loaded = {m for m in declared_modules().values() if m in sys.modules}\n"
        "print(spec.id, sorted(loaded), 'diffusers' in sys.modules, 'ctgan' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split(" ", 1)
    assert out[0] == "md-gan"
    assert out[1].strip() == "['fedgen_registry.implementations.generation.gan.md_gan'] False False"
