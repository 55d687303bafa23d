"""The small bundled scenarios give the summaries pinned in ``golden/`` (checked by hand when a
change was meant to move them; see the commit that last wrote a file)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from megapod.sim.twin import simulate
from megapod.spec.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("name", sorted(p.stem for p in GOLDEN.glob("*.json")))
def test_summary_matches_the_pinned_one(name: str) -> None:
    want = json.loads((GOLDEN / f"{name}.json").read_text())
    got = json.loads(
        json.dumps(
            simulate(load_scenario(ROOT / "examples" / "scenarios" / f"{name}.yaml")).summary, default=str
        )
    )
    assert set(got) == set(want)
    for key, value in want.items():
        if isinstance(value, float) and math.isnan(value):
            assert isinstance(got[key], float) and math.isnan(got[key]), key
        elif isinstance(value, float):
            assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
        else:
            assert got[key] == value, key
