"""Every long command reports its progress: lines on stderr when it is not a terminal."""

from __future__ import annotations

import pytest
from tests.conftest import EXAMPLES

from megapod.cli import progress as progress_module


@pytest.mark.parametrize(
    ("args", "label"),
    [
        (("simulate", EXAMPLES / "scenarios" / "megapod_week.yaml"), "simulating"),
        (("power-profile", EXAMPLES / "scenarios" / "megapod_power.yaml"), "power profile"),
        (
            ("plan", EXAMPLES / "megapod.yaml", "--capability", "--models", "llama3-8b,llama3-70b"),
            "planning capability",
        ),
    ],
)
def test_a_long_command_prints_progress_lines(cli, monkeypatch: pytest.MonkeyPatch, args, label) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(progress_module, "FIRST_LINE_S", 0.0)  # a line at every update
    monkeypatch.setattr(progress_module, "LINE_EVERY_S", 0.0)
    monkeypatch.delenv("MEGAPOD_PROGRESS", raising=False)
    code, _, err = cli(*args)
    assert code == 0, err
    lines = [line for line in err.splitlines() if line.startswith(f"{label}: ")]
    assert lines and lines[-1].startswith(f"{label}: 100% after"), err
