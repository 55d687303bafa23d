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
