"""Read catalogue YAML files into validated ``Paper`` objects, reporting every problem in one pass.

Each problem is one line a contributor can act on without a traceback:
``catalog/papers/x-2020.yaml: privacy.mechanisms[1]: 'dp' is not one of [...]; did you mean 'dp-sgd-local'?``
The C YAML parser is used when present (it is several times faster on the whole catalogue), with a
constructor that refuses aliases, duplicate keys and tags: none of them has a legitimate use in an entry,
and aliases are how "billion laughs" files blow up memory once validation walks them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from fedgen_registry.catalog.cache import ParseCache
from fedgen_registry.catalog.schema import Paper
from fedgen_registry.suggest import did_you_mean

try:
    _Base: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Base = yaml.SafeLoader

MAX_FILE_BYTES = 256 * 1024


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file, located as precisely as we can."""

    path: str
    location: str
    message: str

    def __str__(self) -> str:
        """One line: a newline inside a quoted value or a library's message is shown escaped."""
        where = f"{self.path}: {self.location}: " if self.location else f"{self.path}: "
        return (where + self.message).replace("\r", "\\r").replace("\n", "\\n")


class CatalogError(Exception):
    """Raised when a catalogue does not validate; carries every problem found."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class _EntryLoader(_Base):  # type: ignore[misc, valid-type]
    """Safe loader that rejects aliases, duplicate keys and any explicit tag."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node in self.constructed_objects or node in self.recursive_objects:
            raise yaml.constructor.ConstructorError(
                None, None, "YAML aliases (*name) are not allowed in catalogue entries", node.start_mark
            )
        return super().construct_object(node, deep=deep)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = key_node.value
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (the second value would silently win)", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _refuse_tag(loader: yaml.BaseLoader, suffix: str, node: yaml.Node) -> Any:
    raise yaml.constructor.ConstructorError(None, None, f"YAML tag {node.tag!r} is not allowed", node.start_mark)


_EntryLoader.add_multi_constructor("!", _refuse_tag)
_EntryLoader.add_multi_constructor("tag:yaml.org,2002:python/", _refuse_tag)


def format_location(loc: Iterable[Any]) -> str:
    """``('privacy', 'mechanisms', 1)`` -> ``privacy.mechanisms[1]``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def _validation_problems(path: str, error: ValidationError) -> list[Problem]:
    problems = []
    for err in error.errors(include_url=False):
        # pydantic appends the failing member of an ``X | None`` union (e.g. ``str``) to the location;
        # drop those type tags so the path matches the YAML the contributor wrote.
        loc = [p for p in err["loc"] if isinstance(p, int) or not p.startswith(("function-", "constrained-"))]
        loc = [p for p in loc if p not in ("str", "int", "float", "bool", "list[...]", "dict[...]")]
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown field (misspelt, or not part of the schema; see `fedgen schema`)"
        elif err["type"] == "missing":
            message = "required field is missing"
        elif err["type"] == "string_type" and isinstance(err.get("input"), (int, float)):
            message = (
                f"expected text, got the number {err['input']!r}: quote the value as written (YAML read it as a number)"
            )
        elif err["type"] == "string_pattern_mismatch" and "http" in str(err.get("ctx", {}).get("pattern", "")):
            message = f"{err['input']!r} is not a URL (it must start with http:// or https://)"
        elif err["type"].endswith(("_type", "_pattern_mismatch", "_parsing")) or err["type"] in (
            "greater_than",
            "less_than",
        ):
            message = f"{message} (got {err['input']!r})"
        problems.append(Problem(path, format_location(loc), message))
    return problems


def parse_yaml(text: str, path: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Parse one entry's text into a mapping (no validation yet)."""
    if not text.strip():
        return None, [Problem(path, "", "file is empty")]
    try:
        data = yaml.load(text, Loader=_EntryLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return None, [Problem(path, where, f"invalid YAML: {exc.problem or exc.context}")]
    except yaml.reader.ReaderError as exc:  # a control character: YAML refuses it before parsing
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        character = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
        return None, [Problem(path, f"line {line}, column {column}", f"invalid YAML: {exc.reason} ({character})")]
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, [Problem(path, "", f"invalid YAML: {first}")]
    if data is None:
        return None, [Problem(path, "", "file has no fields (only comments or blank lines)")]
    if not isinstance(data, dict):
        return None, [Problem(path, "", f"expected a mapping of fields at the top level, got {type(data).__name__}")]
    return data, []


def validate_entry(data: dict[str, Any], path: str) -> tuple[Paper | None, list[Problem]]:
    """Validate a parsed mapping against the schema and the file-name rule."""
    try:
        paper = Paper.model_validate(data)
    except ValidationError as exc:
        return None, _validation_problems(path, exc)
    stem = Path(path).stem
    if paper.id != stem:
        return None, [Problem(path, "id", f"id {paper.id!r} does not match the file name {stem!r}")]
    return paper, []


def parse_entry(text: str, path: str) -> tuple[Paper | None, list[Problem]]:
    """Parse and validate one entry's text; return the paper or the problems found."""
    data, problems = parse_yaml(text, path)
    return (None, problems) if data is None else validate_entry(data, path)


def read_yaml(file: Path, display: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Read one file's bytes, refusing oversize and non-UTF-8 files, and parse it."""
    try:
        raw = file.read_bytes()
    except OSError as exc:
        return None, [Problem(display, "", f"cannot read file: {exc.strerror}")]
    if len(raw) > MAX_FILE_BYTES:
        return None, [Problem(display, "", f"file is {len(raw)} bytes; entries are limited to {MAX_FILE_BYTES}")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        bad = raw[exc.start : exc.start + 1]
        return None, [
            Problem(
                display, f"line {line}", f"not valid UTF-8 (byte {bad!r} at offset {exc.start}); save the file as UTF-8"
            )
        ]
    return parse_yaml(text, display)


def _normalise_title(title: str) -> str:
    return " ".join("".join(ch for ch in title.lower() if ch.isalnum() or ch.isspace()).split())


def cross_check(papers: Sequence[tuple[str, Paper]], implementation_ids: set[str] | None) -> list[Problem]:
    """Problems that involve more than one entry: duplicates, and unknown implementation ids."""
    problems: list[Problem] = []
    first_seen: dict[tuple[str, str], str] = {}
    for path, paper in papers:
        keys = [("id", paper.id), ("title", _normalise_title(paper.title))]
        if paper.links.arxiv:
            keys.append(("links.arxiv", paper.links.arxiv))
        if paper.links.doi:
            keys.append(("links.doi", paper.links.doi.lower()))
        for field, value in keys:
            other = first_seen.setdefault((field, value), path)
            if other != path:
                problems.append(
                    Problem(path, field, f"duplicate {field.split('.')[-1]} {value!r}, already used by {other}")
                )
        impl = paper.implementation
        if paper.implemented and implementation_ids is not None and impl.id not in implementation_ids:
            problems.append(
                Problem(
                    path,
                    "implementation.id",
                    f"no registered implementation {impl.id!r} (mark it status: planned until it exists)"
                    + did_you_mean(impl.id, implementation_ids),
                )
            )
    return problems


def entry_files(root: Path) -> list[Path]:
    """The YAML files of a catalogue: ``root/papers/*.yaml``, or ``root`` itself if it is a file or flat folder."""
    if root.is_file():
        return [root]
    papers = root / "papers"
    folder = papers if papers.is_dir() else root
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def load_papers(
    root: Path, implementation_ids: set[str] | None = None, display_base: Path | None = None, use_cache: bool = True
) -> tuple[list[Paper], list[Problem]]:
    """Load every entry under ``root``; return the valid papers and all problems (never raises on bad input)."""
    if not root.exists():
        return [], [Problem(str(root), "", "no such file or folder")]
    cache = ParseCache(root if root.is_dir() else root.parent, enabled=use_cache)
    loaded: list[tuple[str, Paper]] = []
    problems: list[Problem] = []
    for file in entry_files(root):
        display = _display(file, display_base)
        data = cache.get(file)
        if data is None:
            data, found = read_yaml(file, display)
            problems.extend(found)
            if data is None:
                continue
            cache.put(file, data)
        paper, found = validate_entry(data, display)
        problems.extend(found)
        if paper is not None:
            loaded.append((display, paper))
    cache.save()
    problems.extend(cross_check(loaded, implementation_ids))
    return [paper for _, paper in loaded], problems


def _display(file: Path, base: Path | None) -> str:
    for anchor in (base, Path.cwd()):
        if anchor is None:
            continue
        try:
            return str(file.resolve().relative_to(anchor.resolve()))
        except ValueError:
            continue
    return str(file)
