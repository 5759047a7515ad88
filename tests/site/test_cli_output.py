"""``fedgen implementations`` prints our listing alone: no dependency's warning reaches the terminal.

Listing imports every implementation, and with them sdmetrics, rdt and Flower, which warn about their own
future at import. The command runs in a subprocess with every warning shown (``PYTHONWARNINGS=always``),
so a warning that the command's filter let through would surface here even where Python hides it by default.
"""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import REPO


def test_implementations_prints_only_its_listing() -> None:
    environment = {**os.environ, "PYTHONWARNINGS": "always"}
    command = [sys.executable, "-m", "fedgen_registry", "implementations", "fedavg-*"]
    out = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=environment, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "Warning" not in out.stderr and out.stderr == ""
    lines = out.stdout.splitlines()
    assert lines and all(line.startswith("fedavg-") and "\tpresets: " in line for line in lines)
