"""The report is one offline page; the command runs a sweep, reports progress and saves files;
importing the command line pulls in neither Ray nor pandas."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from tests.cli.test_startup import heavy_imported
from tests.sweep.conftest import SHORT, WriteSweep

from megapod.spec.sweep import OUTPUTS
from megapod.sweep import render_report, save
from megapod.sweep.store import PointStore

Cli = Callable[..., tuple[int, str, str]]

SWEEP = f"""name: cli
{SHORT}
axes:
  - {{path: policies.queue, name: queue, values: [fifo, sjf]}}
seeds: [1, 2]
"""


def table() -> pd.DataFrame:
    outputs = list(OUTPUTS["scenario"])
    f = pd.DataFrame(
        {
            "point": range(4),
            "key": list("abcd"),
            "queue": ["fifo", "fifo", "sjf", "sjf"],
            "status": ["ok", "ok", "ok", "failed"],
            **{name: [1.0, 2.0, 3.0, float("nan")] for name in outputs},
            "error": ["", "", "", "InfeasibleError: no"],
        }
    )
    f["goodput"] = [0.5, 0.9, 0.7, float("nan")]
    f.attrs.update(
        {
            "sweep": "t",
            "kind": "scenario",
            "axes": ["queue"],
            "outputs": outputs,
            "objectives": {"energy_usd_per_useful_gpu_h": "min", "goodput": "max"},
        }
    )
    return f


def test_report_is_one_self_contained_page() -> None:
    html = render_report(table())
    assert html.startswith("<!") or "<html" in html[:200]
    assert "Pareto front" in html and "Sensitivity" in html
    assert not re.search(r"<script[^>]*\ssrc=", html)  # plotly.js and the chart script are inlined
    assert "InfeasibleError: no" in html
    for name in OUTPUTS["scenario"]:
        assert name in html


def test_save_writes_the_table_front_and_report(tmp_path: Path) -> None:
    written = {p.name for p in save(table(), tmp_path)}
    assert written == {"points.parquet", "points.csv", "pareto.parquet", "summary.json", "report.html"}
    assert len(pd.read_parquet(tmp_path / "points.parquet")) == 4
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["pareto_points"] == [0, 1]  # point 2 (3.0, 0.7) is beaten by point 1 (2.0, 0.9)
    assert summary["status"] == {"ok": 3, "failed": 1}


def test_command_runs_reports_progress_and_resumes(
    cli: Cli, write_sweep: WriteSweep, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from megapod.cli import progress

    monkeypatch.setattr(progress, "FIRST_LINE_S", 0.0)  # a line at once, however fast the run
    path = write_sweep(SWEEP)
    out = tmp_path / "out"
    code, stdout, stderr = cli("sweep", path, "--out", out, "--serial")
    assert code == 0, stderr
    assert "Pareto front" in stdout
    assert "4 points (4 ok); 4 run now, 0 from an earlier run" in stdout
    assert stderr.startswith("sweep: ") and "% after " in stderr  # progress lines off a terminal
    assert (out / "report.html").is_file() and len(PointStore(out / "points").keys()) == 4
    code, stdout, _ = cli("sweep", path, "--out", out, "--serial", "--json")
    assert code == 0
    doc = json.loads(stdout)
    assert (doc["ran"], doc["cached"], doc["points"]) == (0, 4, 4)
    assert doc["pareto"] and set(doc["pareto"][0]) >= {"point", "key", "queue", "seed", "goodput"}


def test_command_on_ray(cli: Cli, write_sweep: WriteSweep, ray_cluster: None) -> None:
    code, stdout, stderr = cli("sweep", write_sweep(SWEEP), "--workers", "2", "--max-points", "3")
    assert code == 0, stderr
    assert "3 points (3 ok); 3 run now" in stdout


def test_command_refuses_bad_input_in_one_line(cli: Cli, write_sweep: WriteSweep, tmp_path: Path) -> None:
    bad = write_sweep(SWEEP.replace("policies.queue", "policies.queues"))
    code, _, stderr = cli("sweep", bad)
    assert code == 2
    assert stderr.count("\n") == 1
    assert "axes[0].values[0]: path 'policies.queues'" in stderr and "did you mean 'queue'" in stderr
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine", encoding="utf-8")
    code, _, stderr = cli("sweep", write_sweep(SWEEP), "--out", tmp_path / "other")
    assert code == 2 and "not a sweep's" in stderr
    code, _, stderr = cli("sweep", write_sweep(SWEEP), "--time-budget", "0 s")
    assert code == 2 and "--time-budget" in stderr


def test_importing_the_command_line_pulls_in_neither_ray_nor_pandas() -> None:
    probe = "import megapod.cli.main, megapod.cli.sweep, sys\nassert 'ray' not in sys.modules, 'ray'"
    assert heavy_imported(probe) == []
