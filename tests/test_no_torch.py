"""The catalogue path must stay light: no torch (and no pandas until a frame is asked for)."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def run_python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_loading_the_catalogue_to_a_frame_leaves_torch_out() -> None:
    out = run_python(
        "import sys, fedgen_registry\n"
        "frame = fedgen_registry.load_catalog().to_frame()\n"
        "print(len(frame), 'torch' in sys.modules)"
    )
    count, torch_loaded = out.split()
    assert int(count) >= 140 and torch_loaded == "False"


def test_cli_listing_imports_neither_torch_nor_pandas() -> None:
    out = run_python(
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from fedgen_registry.cli import main\n"
        "r = CliRunner().invoke(main, ['list', '--format', 'json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print('torch' in sys.modules, 'pandas' in sys.modules)"
    )
    assert out == "False False"
