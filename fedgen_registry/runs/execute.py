"""One algorithm run into its run directory: build, run the rounds on an engine, judge, write the files.

The engines only run rounds (history, checkpoints); what a finished run leaves beside them is decided
here, once for both engines: ``config.json`` (the manifest), ``metrics.json`` and the privacy ledger
``privacy.json``. The flower engine's ServerApp calls :func:`run_algorithm` with relayed clients, so
both engines write the same run directory.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from fedgen_registry.federation.atomic import write_text_atomic
from fedgen_registry.federation.config import FederationConfig
from fedgen_registry.federation.local import LocalEngine
from fedgen_registry.federation.protocol import Algorithm
from fedgen_registry.federation.seeding import derive_seed, deterministic, seed_everything
from fedgen_registry.mechanisms.privacy.ledger import LEDGER_FILE, NO_PRIVACY, write_ledger


def run_algorithm(
    algorithm_class: type[Algorithm[Any]],
    config: FederationConfig,
    run_dir: Path,
    *,
    resume: bool,
    quiet: bool,
    manifest: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build, run and judge an algorithm; write ``config.json`` (the manifest), ``metrics.json`` and the
    privacy ledger ``privacy.json`` (``none`` unless the algorithm wrote its own).

    Returns a summary for the caller to print.
    """
    started = time.perf_counter()
    algorithm = algorithm_class(config, run_dir)
    engine = LocalEngine(algorithm, run_dir, quiet=quiet)
    if resume:
        engine.resume()
    if manifest is not None:  # written once a resume is known to fit, so it always describes the checkpoint
        write_text_atomic(run_dir / "config.json", json.dumps(manifest, indent=2) + "\n")
    history = engine.run()
    ledger = run_dir / LEDGER_FILE
    ledger.unlink(missing_ok=True)  # a private algorithm writes its own in finish(); never keep a stale one
    with deterministic(config.torch_threads):
        seed_everything(derive_seed(config.seed, "finish"))
        metrics = {"rounds": len(history), **algorithm.finish(engine.server)}
    if not ledger.exists():
        write_ledger(run_dir, NO_PRIVACY)
    write_text_atomic(run_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    return {"metrics": metrics, "wall_time_s": round(time.perf_counter() - started, 3)}
