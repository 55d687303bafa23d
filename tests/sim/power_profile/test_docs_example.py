"""The library example in docs/power-dynamics.md runs as written."""

from __future__ import annotations

import re

import pytest
from tests.conftest import REPO


def test_docs_example_runs(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    text = (REPO / "docs" / "power-dynamics.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "the page lost its example"
    monkeypatch.chdir(REPO)
    exec(compile(blocks[0], "power-dynamics.md", "exec"), {})
    units = int(capsys.readouterr().out.split()[0])
    assert units >= 1
