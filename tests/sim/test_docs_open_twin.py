"""The open-twin example of docs/simulator.md runs as shown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_docs_example_runs(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / "docs" / "simulator.md").read_text()
    block = re.search(r"## Driving the twin.*?```python\n(.*?)```", text, re.S)
    assert block is not None
    monkeypatch.chdir(ROOT)
    exec(compile(block.group(1), "docs/simulator.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"\d+/576 GPUs busy, \d+ queued, \d+\.\d\d MW", out[0])
    assert out[1] == "done"
