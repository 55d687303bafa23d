"""Sweeps as control-plane jobs: run a sweep file of the server's folder, watch its progress,
read its report; a sweep left running by a stopped server finishes after a restart."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tests.serve.conftest import Api
from tests.serve.helpers import wait_for

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SWEEP = f"""name: served
scenario: {EXAMPLES / "scenarios" / "megapod_week.yaml"}
set:
  horizon_s: 6 h
  grid.events: []
axes:
  - {{path: policies.queue, name: queue, values: [fifo, sjf]}}
seeds: [1, 2]
objectives: {{energy_cost_usd: min, useful_gpu_h: max}}
"""


def _settings(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "sweeps"
    folder.mkdir(exist_ok=True)
    (folder / "served.yaml").write_text(SWEEP, encoding="utf-8")
    return {"sweep_dir": folder, "sweep_out_dir": tmp_path / "out"}


def _done(api: Api, sweep_id: str) -> dict[str, object]:
    def check() -> dict[str, object] | None:
        s: dict[str, object] = api.client.get(f"/api/v1/sweeps/{sweep_id}", headers=api.viewer).json()
        return s if s["state"] in ("done", "failed") else None

    out: dict[str, object] = wait_for(check, timeout_s=120)
    return out


def test_a_sweep_runs_as_a_job(start_api: Callable[..., Api], db_url: str, tmp_path: Path) -> None:
    api = start_api(db_url, **_settings(tmp_path))
    assert api.client.get("/api/v1/sweeps/files", headers=api.viewer).json() == {"files": ["served.yaml"]}
    r = api.client.post("/api/v1/sweeps", json={"file": "served.yaml", "max_points": 3}, headers=api.operator)
    assert r.status_code == 201, r.text
    sweep = _done(api, r.json()["id"])
    assert sweep["state"] == "done", sweep["message"]
    assert sweep["points_done"] == sweep["points_total"] == 3
    summary = sweep["summary"]
    assert isinstance(summary, dict) and summary["by_status"] == {"ok": 3} and summary["pareto_points"]
    page = api.client.get(f"/api/v1/sweeps/{sweep['id']}/report", headers=api.viewer)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert 'id="mp-chart-data"' in page.text  # the report page, its charts' data inlined
    assert (tmp_path / "out" / str(sweep["id"]) / "points.parquet").is_file()
    kinds = [e["kind"] for e in api.client.get("/api/v1/events", headers=api.viewer).json()["items"]]
    assert "sweep_started" in kinds and "sweep_done" in kinds
    audit = api.client.get("/api/v1/audit", headers=api.viewer).json()["items"]
    assert any(a["action"] == "sweep.submit" and a["target"] == sweep["id"] for a in audit)
    listed = api.client.get("/api/v1/sweeps", headers=api.viewer).json()["items"]
    assert [s["id"] for s in listed] == [sweep["id"]]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"file": "missing.yaml"}, 422, "file: 'missing.yaml' is not a sweep file of this server"),
        ({"file": "../served.yaml"}, 422, "file"),
        ({"file": "/etc/passwd"}, 422, "file"),
        ({"file": "served.yaml", "max_points": 0}, 422, "max_points"),
        ({"file": "served.yaml", "shell": "x"}, 422, "shell"),
    ],
)
def test_only_the_servers_own_files_run(
    start_api: Callable[..., Api],
    db_url: str,
    tmp_path: Path,
    body: dict[str, object],
    status: int,
    says: str,
) -> None:
    api = start_api(db_url, **_settings(tmp_path))
    r = api.client.post("/api/v1/sweeps", json=body, headers=api.operator)
    assert r.status_code == status and says in r.json()["detail"], r.text
    assert "root:" not in r.text  # no file's content in an error
    assert (
        api.client.post("/api/v1/sweeps", json={"file": "served.yaml"}, headers=api.viewer).status_code == 403
    )
    assert api.client.get("/api/v1/sweeps", headers=api.viewer).json()["items"] == []


def test_an_unfinished_sweep_resumes_after_a_restart(
    start_api: Callable[..., Api], db_url: str, tmp_path: Path
) -> None:
    from megapod.serve.store.models import SweepRun

    settings = _settings(tmp_path)
    first = start_api(db_url, **settings)
    first.client.__exit__(None, None, None)  # the server stops; a sweep was left running
    from megapod.serve.store.db import Database

    db = Database(db_url)
    with db.session() as s:
        s.add(
            SweepRun(
                id="s-left", name="served", file="served.yaml", state="running", backend="serial",
                max_points=2, summary={}, message="", submitted_by="ops",
                out_dir=str(tmp_path / "out" / "s-left"),
            )
        )  # fmt: skip
    db.dispose()
    again = start_api(db_url, **settings)
    sweep = _done(again, "s-left")
    assert sweep["state"] == "done" and sweep["points_done"] == 2
