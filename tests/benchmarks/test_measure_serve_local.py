"""The local backend's recorded run, on this machine's CPUs (on a GPU machine the same script
is the real NVML run): every check it makes passes, and its record says what it measured."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "measure_serve_local.py"


def test_the_run_passes_its_checks_and_records_them(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["--out", str(out), "--load-s", "3", "--idle-s", "1"]
    done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300)
    summary = json.loads((out / "summary.json").read_text())
    assert done.returncode == 0, (done.stdout, done.stderr, summary["checks"])
    assert summary["checks"] and all(summary["checks"].values())
    if summary["devices"] == "cpu":
        assert summary["cap"]["status"] == 409 and "CPUs only" in summary["cap"]["message"]
    assert summary["figures"]["loaded"]["samples"] >= 1 and summary["job"]["state"] == "done"
    rows = (out / "samples.csv").read_text().splitlines()
    assert rows[0].startswith("phase,t_s,") and len(rows) > 1
