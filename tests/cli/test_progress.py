"""Progress lines on stderr when it is not a terminal."""

from __future__ import annotations

import pytest

from megapod.cli import progress as progress_module


def test_lines_are_spaced_and_carry_an_eta(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = iter([0.0, 1.0, 3.0, 4.0, 14.0])
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: next(clock))
    with progress_module.progress("simulating", 100.0) as update:
        update(10)  # t=1 s: too early for a line
        update(30)  # t=3 s: first line
        update(40)  # t=4 s: within LINE_EVERY_S of the first
        update(100)  # t=14 s: second line
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "simulating: 30% after 3 s, about 7 s left",
        "simulating: 100% after 14 s, about 0 s left",
    ]
