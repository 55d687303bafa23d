"""Fixtures of the sweep tests: one Ray for the whole session, and small sweep files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.conftest import EXAMPLES

#: A base every test sweep can use: the megapod-week scenario cut to one day (~50 ms a point).
SHORT = f"""
scenario: {EXAMPLES / "scenarios" / "megapod_week.yaml"}
set:
  horizon_s: 1 d
  grid.events: []
"""

WriteSweep = Callable[[str], Path]


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[None]:
    """A local Ray with two CPUs, started once (it costs seconds) and shared by the tests."""
    ray = pytest.importorskip("ray")
    from megapod.sweep import start_ray

    if not ray.is_initialized():
        start_ray(workers=2)  # as a sweep starts its own
    yield
    ray.shutdown()


@pytest.fixture
def write_sweep(tmp_path: Path) -> WriteSweep:
    """Write a sweep file into the test's folder; returns its path."""

    def write(text: str) -> Path:
        path = tmp_path / "sweep.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write
