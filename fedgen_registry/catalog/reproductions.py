"""The stored results of ``fedgen reproduce``: one JSON :class:`~fedgen_registry.catalog.claims.Reproduction` per
implementation, in the catalogue's ``reproductions/`` folder beside ``papers/``.

They live with the catalogue because they are facts about the papers' claims that the catalogue shows
(the ``reproduction`` facet, the paper pages) without running anything or importing torch.
"""

from __future__ import annotations

import json
from pathlib import Path

from fedgen_registry.catalog.claims import Reproduction

FOLDER = "reproductions"


def stored_path(root: Path, implementation: str) -> Path:
    return root / FOLDER / f"{implementation}.json"


def load_stored(root: Path, implementation: str) -> Reproduction | None:
    path = stored_path(root, implementation)
    if not path.exists():
        return None
    return Reproduction.model_validate_json(path.read_text(encoding="utf-8"))


def save_stored(root: Path, result: Reproduction) -> Path:
    path = stored_path(root, result.implementation)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.model_dump(mode="json"), indent=1) + "\n", encoding="utf-8")
    return path


def load_all(root: Path) -> dict[str, Reproduction]:
    """Implementation id -> its stored result (none when the folder is absent, e.g. a test catalogue)."""
    folder = root / FOLDER
    if not folder.is_dir():
        return {}
    return {
        path.stem: Reproduction.model_validate_json(path.read_text(encoding="utf-8"))
        for path in sorted(folder.glob("*.json"))
    }
