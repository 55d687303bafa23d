"""Scenario files: relative paths, errors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from megapod.errors import SpecError
from megapod.spec.scenario import load_scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "sc.yaml"
    p.write_text(body)
    return p


def test_site_path_is_relative_to_the_scenario(tmp_path: Path) -> None:
    site = (EXAMPLES / "megapod.yaml").resolve()
    p = _write(
        tmp_path,
        f"name: x\nsite: {site}\nhorizon_s: 1 d\nworkload:\n  pretraining: [{{name: a, gpus: 8, work_s: 1 h}}]\n",
    )
    sc = load_scenario(p)
    assert sc.site.gpus == 576 and sc.horizon_s == 86400.0
    assert sc.power_profile is None  # room for the power-dynamics section


def test_missing_trace_names_the_field(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        f"name: x\nsite: {(EXAMPLES / 'megapod.yaml').resolve()}\nhorizon_s: 1 d\n"
        "workload:\n  trace: {path: ../nowhere/jobs.csv}\n",
    )
    with pytest.raises(SpecError, match=r"workload\.trace\.path.*not found.*shared"):
        load_scenario(p)


def test_missing_site_file(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        "name: x\nsite: nope.yaml\nhorizon_s: 1 d\nworkload: {pretraining: [{name: a, gpus: 1, work_s: 10}]}\n",
    )
    with pytest.raises(SpecError, match=r"site file 'nope\.yaml' not found"):
        load_scenario(p)


@pytest.mark.parametrize(
    ("snippet", "where"),
    [
        ("horizon_s: -5", "horizon_s"),
        ("horizon_s: 1 d\npolicies: {queue: fifo, placment: spread}", "policies.placment"),
        ("horizon_s: 1 d\nworkload: {}", "workload"),
        ("horizon_s: 1 d\noutput: {resolution_s: 1}", "horizon / output.resolution_s"),
    ],
)
def test_bad_fields_are_named(tmp_path: Path, snippet: str, where: str) -> None:
    body = f"name: x\nsite: {(EXAMPLES / 'megapod.yaml').resolve()}\n{snippet}\n"
    if "workload" not in snippet:
        body += "workload: {pretraining: [{name: a, gpus: 1, work_s: 10}]}\n"
    if "horizon_s: 1 d\noutput" in snippet:
        body = body.replace("horizon_s: 1 d", "horizon_s: 3650 d")
    with pytest.raises(SpecError, match=where.replace(".", r"\.")):
        load_scenario(_write(tmp_path, body))


def test_unknown_policy_is_refused_with_the_known_ones() -> None:
    from megapod.sim.twin import Twin

    sc = load_scenario(EXAMPLES / "scenarios" / "megapod_week.yaml")
    bad = sc.model_copy(update={"policies": sc.policies.model_copy(update={"queue": "lifo"})})
    with pytest.raises(SpecError, match=r"policies\.queue.*known: easy-backfill, fair-share, fifo"):
        Twin(bad)
