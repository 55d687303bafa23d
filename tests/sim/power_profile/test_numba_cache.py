"""numba's machine-code cache is used where it can be written, and never stops an import.

Making site-packages and HOME unwritable is not possible when the tests run as root, so the
place numba checks (``_CacheLocator.ensure_cache_path``, which writes a temporary file into
each candidate folder) is made to fail as a read-only filesystem does.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from numba.core import caching
from tests.conftest import REPO

from megapod.physics.power_dynamics.battery_control import njit_cached


def _double(x: np.ndarray) -> np.ndarray:
    return 2.0 * x


def _read_only(self: object) -> None:
    raise PermissionError(13, "Permission denied")


def test_caches_where_numba_can_write() -> None:
    kernel = njit_cached(_double)
    assert isinstance(kernel._cache, caching.FunctionCache)


def test_compiles_uncached_when_no_cache_folder_is_writable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(caching._CacheLocator, "ensure_cache_path", _read_only)
    kernel = njit_cached(_double)
    assert isinstance(kernel._cache, caching.NullCache)
    np.testing.assert_array_equal(kernel(np.arange(3.0)), [0.0, 2.0, 4.0])


def test_other_numba_errors_are_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: object, py_func: object) -> None:
        raise RuntimeError("something else")

    monkeypatch.setattr(caching.CacheImpl, "__init__", broken)
    with pytest.raises(RuntimeError, match="something else"):
        njit_cached(_double)


def test_the_package_imports_and_runs_with_no_writable_cache_folder() -> None:
    code = (
        "import numba.core.caching as c\n"
        "def read_only(self): raise PermissionError(13, 'Permission denied')\n"
        "c._CacheLocator.ensure_cache_path = read_only\n"
        "import numpy as np\n"
        "from megapod.physics.battery import BatteryParams\n"
        "from megapod.sim.power_profile import smooth_with_battery\n"
        "bank = BatteryParams(energy_wh=1e5, power_w=1e6, round_trip_efficiency=0.9)\n"
        "tr = smooth_with_battery(np.full(100, 5e5), 0.001, bank, 1e6)\n"
        "print(float(tr.grid_w.sum() + tr.battery_w.sum()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) == pytest.approx(100 * 5e5)
