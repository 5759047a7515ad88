"""A cache of parsed YAML, so listing the catalogue does not re-parse 150 files on every command.

Parsing is most of the cost of loading (validation is cheap), so the cache stores each file's parsed
mapping keyed by its size and modification time; every entry is still validated on every load, so the
cache can never let an invalid entry through. Writing is best effort: a read-only disk only costs speed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any


def cache_dir() -> Path:
    """``$FEDGEN_CACHE``, else ``$XDG_CACHE_HOME/fedgen``, else ``~/.cache/fedgen``."""
    explicit = os.environ.get("FEDGEN_CACHE")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fedgen"


class ParseCache:
    """Parsed entries of one catalogue folder, valid while a file's (size, mtime) is unchanged."""

    VERSION = 1

    def __init__(self, root: Path, enabled: bool = True):
        digest = hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:16]
        self.path = cache_dir() / f"catalog-{digest}.json"
        self.enabled = enabled and os.environ.get("FEDGEN_NO_CACHE") is None
        self._entries: dict[str, Any] = self._read() if self.enabled else {}
        self._fresh: dict[str, Any] = {}

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data.get("entries", {}) if data.get("version") == self.VERSION else {}

    @staticmethod
    def _stamp(file: Path) -> list[int]:
        stat = file.stat()
        return [stat.st_size, stat.st_mtime_ns]

    def get(self, file: Path) -> Any | None:
        if not self.enabled:
            return None
        hit = self._entries.get(file.name)
        if hit is not None and hit["stamp"] == self._stamp(file):
            self._fresh[file.name] = hit
            return hit["data"]
        return None

    def put(self, file: Path, data: Any) -> None:
        if self.enabled:
            self._fresh[file.name] = {"stamp": self._stamp(file), "data": data}

    def save(self) -> None:
        """Write the entries seen in this load (dropping files that are gone), if anything changed."""
        if not self.enabled or self._fresh == self._entries:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps({"version": self.VERSION, "entries": self._fresh}), encoding="utf-8")
            os.replace(temporary, self.path)
        except OSError:
            pass
