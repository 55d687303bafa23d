"""Shared test fixtures: repository paths and the shared data folder beside the checkout."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
SHARED = REPO.parent / "shared"


@pytest.fixture
def shared_dir() -> Path:
    """The ``shared/`` folder beside the checkout; skips the test when it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared (validation data and traces) is not beside this checkout")
    return SHARED


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., tuple[int, str, str]]:
    """Run ``megapod ARGS`` in-process through the real entry point; return (code, out, err)."""
    from megapod.cli.main import run

    def call(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["megapod", *map(str, args)])
        monkeypatch.setenv("COLUMNS", "160")
        try:
            run()
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return call
