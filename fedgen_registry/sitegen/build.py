"""Generate the pages, then run MkDocs through its Python API and report every warning it logged.

MkDocs' strict mode already turns warnings into a failed build; the report also carries them on a
successful ``--no-strict`` build, so callers (and the tests) can require zero warnings explicitly.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from fedgen_registry.catalog import load_catalog
from fedgen_registry.catalog.query import Catalog
from fedgen_registry.sitegen.generate import generate

DOCS_EXTRA_MISSING = "the docs extra is not installed: pip install -c constraints.txt -e '.[docs]'"
CONFIG_NAME = "mkdocs.yml"


class SiteError(Exception):
    """The site cannot be built: no mkdocs.yml, the docs extra is missing, or MkDocs failed."""


@dataclass(frozen=True)
class BuildReport:
    out: Path
    docs_dir: Path
    papers: int
    generated: list[Path]
    seconds: float
    warnings: list[str] = field(default_factory=list)


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}")


def default_config() -> Path:
    """``mkdocs.yml`` of the source checkout this package runs from, else the one in the current folder."""
    checkout = Path(__file__).resolve().parents[2] / CONFIG_NAME
    return checkout if checkout.is_file() else Path.cwd() / CONFIG_NAME


def docs_folder(config_file: Path | None = None) -> Path:
    """The ``docs_dir`` that ``mkdocs.yml`` names, resolved next to it (without loading MkDocs)."""
    import yaml

    config_file = config_file or default_config()
    settings = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
    return config_file.parent / settings.get("docs_dir", "docs")


def build_site(
    catalog: Catalog | None = None,
    config_file: Path | None = None,
    out: Path | None = None,
    strict: bool = True,
) -> BuildReport:
    """Generate the pages into ``docs_dir`` from ``catalog`` (default: the packaged one) and build into ``out``."""
    try:
        from mkdocs.commands.build import build
        from mkdocs.config import load_config
        from mkdocs.exceptions import MkDocsException
    except ImportError as exc:
        raise SiteError(f"{DOCS_EXTRA_MISSING} ({exc})") from None
    config_file = config_file or default_config()
    if not config_file.is_file():
        raise SiteError(f"no {CONFIG_NAME} at {config_file}; run from a fedgen checkout or pass --config")
    started = time.perf_counter()
    catalog = catalog if catalog is not None else load_catalog()
    overrides = {"site_dir": str(out.resolve())} if out is not None else {}
    collector = _Collector()
    logger = logging.getLogger("mkdocs")
    logger.addHandler(collector)
    try:
        config = load_config(config_file=str(config_file), strict=strict, **overrides)
        docs_dir = Path(config.docs_dir)
        snippets = config.mdx_configs.get("pymdownx.snippets")
        if snippets is not None:  # it resolves base_path against the working directory, not the config file
            snippets["base_path"] = [str(docs_dir)]
        generated = generate(catalog, docs_dir)
        build(config)
    except MkDocsException as exc:
        details = "".join(f"\n  {m}" for m in collector.messages)
        raise SiteError(f"mkdocs build failed: {exc}{details}") from exc
    finally:
        logger.removeHandler(collector)
    return BuildReport(
        out=Path(config.site_dir),
        docs_dir=docs_dir,
        papers=len(catalog),
        generated=generated,
        seconds=time.perf_counter() - started,
        warnings=collector.messages,
    )
