"""The command line answers at once: the heavy stack is imported only by commands that use it.

Run as fresh interpreters, since the test process itself has long imported everything.
CPU-time goals are measured by ``benchmarks/bench_cli_startup.py``, not here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from importlib import metadata

import pytest
from tests.conftest import EXAMPLES, REPO

HEAVY = ("matplotlib", "scipy", "numba", "pandas")

Cli = Callable[..., tuple[int, str, str]]


def heavy_imported(code: str) -> list[str]:
    """The heavy packages in ``sys.modules`` after a fresh interpreter runs ``code``."""
    probe = f"import json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", f"{code}\n{probe}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_the_cli_imports_no_heavy_package() -> None:
    assert heavy_imported("import megapod.cli.main") == []


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["validate", str(EXAMPLES / "megapod.yaml")],
        ["describe", str(EXAMPLES / "megapod.yaml")],
        ["catalog"],
        ["catalog", "gpu", "h100-sxm"],
    ],
    ids=" ".join,
)
def test_quick_commands_import_no_heavy_package(args: list[str]) -> None:
    run = (
        "import sys\n"
        "from megapod.cli.main import run\n"
        f"sys.argv = ['megapod', *{args!r}]\n"
        "try:\n"
        "    run()\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
    )
    assert heavy_imported(run) == []


def test_version(cli: Cli) -> None:
    code, out, _ = cli("--version")
    assert code == 0
    assert out == f"megapod {metadata.version('megapod')}\n"
