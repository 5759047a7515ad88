"""``--set`` assignments (known and unknown dotted keys, any text as a value) and ``fedgen list`` arguments
drawn at random: a resolved run or one clear line, never another exception or a traceback."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fedgen_registry.catalog import load_catalog
from fedgen_registry.runs.runner import RunError, config_keys, parse_assignments, resolve
from fedgen_registry.suggest import UnknownIdError
from fuzz.one_line import assert_one_line

CATALOG = load_catalog()
IDS = ["fedavg-gan", "md-gan-2018", "gs-wgan", "fedavg-vae", "fedavg-tabular-gan", "fedavg-lm"]
KEYS = sorted({key for i in IDS for key in config_keys(resolve(i, catalog=CATALOG).spec.config)})
KEY = st.one_of(st.sampled_from(KEYS), st.text(alphabet="abcdelmnorstz._-", min_size=1, max_size=24))
VALUE = st.one_of(
    st.sampled_from(["0", "-1", "1e9", "nan", "inf", "true", "null", "[1, 2]", "{a: 1}", "'x'", "", "1.5"]),
    st.integers(-(10**12), 10**12).map(str),
    st.text(max_size=20),
)


@given(implementation=st.sampled_from(IDS), pairs=st.lists(st.tuples(KEY, VALUE), max_size=4))
def test_set_assignments_resolve_or_fail_in_one_line(implementation: str, pairs: list[tuple[str, str]]) -> None:
    try:
        overrides = parse_assignments([f"{key}={value}" for key, value in pairs])
        resolved = resolve(implementation, overrides, preset="smoke", catalog=CATALOG)
    except (RunError, UnknownIdError) as exc:
        assert_one_line(exc)
    else:
        assert resolved.config is not None


OPTIONS = ["--strand", "--model-type", "--privacy", "--modality", "--year", "--format", "--sort", "--implemented"]


@given(arguments=st.lists(st.one_of(st.sampled_from(OPTIONS), st.text(max_size=12)), max_size=6))
def test_list_arguments_give_a_table_or_one_line(arguments: list[str]) -> None:
    from click.testing import CliRunner

    from fedgen_registry.cli import main

    result = CliRunner().invoke(main, ["list", *arguments])
    assert result.exit_code in (0, 1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
