"""Tables piped to a file or another program are never cut to the terminal's 80 columns."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXE = Path(sys.executable).parent / "megapod"


@pytest.mark.parametrize(
    "args",
    [
        ["describe", str(EXAMPLES / "colossus.yaml")],
        ["catalog", "gpu"],
        [
            "predict",
            "layouts",
            "--model",
            "llama3-70b",
            "--gpu",
            "h100-sxm",
            "--gpus",
            "64",
            "--global-batch",
            "512",
        ],
    ],
)
def test_piped_tables_are_whole(args: list[str]) -> None:
    env = {**os.environ, "COLUMNS": "40"}
    res = subprocess.run([str(EXE), *args], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "…" not in res.stdout and len(res.stdout) > 100
