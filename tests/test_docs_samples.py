"""Every sample output in README.md and docs/ is what the current code prints.

Regenerate them with ``python docs/make_figures.py`` after a change that alters an output.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _make_figures() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_figures", ROOT / "docs" / "make_figures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


MAKE_FIGURES = _make_figures()
SAMPLES = MAKE_FIGURES.samples(MAKE_FIGURES.document_paths())


def test_the_readme_has_samples() -> None:
    assert len([s for s in SAMPLES if s.path.name == "README.md"]) >= 6


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: f"{s.path.name}:{s.command[:60]}")
def test_sample_matches_the_code(sample: object) -> None:
    if not sample.runnable:  # type: ignore[attr-defined]
        pytest.skip("the sample reads ../shared, which is not beside the checkout")
    assert MAKE_FIGURES.render(sample) == sample.body, (  # type: ignore[attr-defined]
        "stale sample; run: python docs/make_figures.py"
    )


def _shown_commands() -> list[tuple[str, str]]:
    """Every ``megapod ...`` line of the bash blocks in README.md and docs/ (comments cut), but
    servers: a line whose comment says it "runs until stopped"."""
    import re

    found = []
    for path in MAKE_FIGURES.document_paths():
        for block in re.findall(r"```bash\n(.*?)```", path.read_text(encoding="utf-8"), re.DOTALL):
            for line in block.splitlines():
                command, _, comment = line.partition("  #")
                command = command.strip()
                if command.startswith("megapod ") and "runs until stopped" not in comment:
                    found.append((path.name, command))
    return found


@pytest.mark.parametrize(("doc", "command"), _shown_commands(), ids=lambda v: str(v)[:70])
def test_shown_command_runs(doc: str, command: str, tmp_path: Path) -> None:
    """A command shown in the docs exits 0, run from a folder laid out like a checkout."""
    import shlex
    import subprocess

    work = tmp_path / "checkout"
    work.mkdir()
    (work / "examples").symlink_to(ROOT / "examples")
    if (ROOT.parent / "shared").is_dir():
        (tmp_path / "shared").symlink_to(ROOT.parent / "shared")
    elif "../shared" in command:
        pytest.skip("the command reads ../shared, which is not beside the checkout")
    proc = subprocess.run(
        [sys.executable, "-m", "megapod", *shlex.split(command)[1:]],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"{doc}: {command}\n{proc.stderr[-2000:]}"
