"""``megapod fleet``: a site with a fleet, or a fleet file; text and JSON; errors exit 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import EXAMPLES

Cli = Callable[..., tuple[int, str, str]]


def test_example_site_json(cli: Cli) -> None:
    code, out, err = cli("fleet", EXAMPLES / "fleet.yaml", "--json", "--simulated", "300")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["vehicles"] == 50_000 and doc["simulated"] == 300
    t = doc["throughput"]
    assert 0 < t["effective_ops"] < t["nameplate_ops"]
    assert len(doc["availability_by_hour"]) == 24
    assert [s["name"] for s in doc["schemes"]] == ["pay-per-share", "pplns", "revenue-share"]
    assert all(s["ledger_balanced"] for s in doc["schemes"])


def test_text_output_names_the_figures(cli: Cli) -> None:
    code, out, err = cli("fleet", EXAMPLES / "fleet.yaml", "--simulated", "200", "--seed", "3")
    assert code == 0, err
    for words in (
        "effective (accepted work)",
        "availability A",
        "availability by hour",
        "pplns",
        "owners losing",
    ):
        assert words in out


def test_a_fleet_file_and_an_error_that_teaches(cli: Cli, tmp_path: Path) -> None:
    ok = tmp_path / "fleet.yaml"
    ok.write_text(
        "vehicles: 100\nmodule: tesla-hw3\nhorizon_s: 1 d\nstep_s: 30 min\nwork: {dtype: int8, model_params: 3e9}\n"
    )
    code, out, err = cli("fleet", ok, "--json")
    assert code == 0, err
    assert json.loads(out)["vehicles"] == 100
    bad = tmp_path / "bad.yaml"
    bad.write_text("fleet:\n  vehicles: 100\n  module: tesla-hw3\n  work: {model_params: 70e9}\n")
    code, _, err = cli("fleet", bad)
    assert code == 2
    assert "work.model_params" in err and "GB" in err and "Traceback" not in err


def test_a_site_without_a_fleet_is_refused(cli: Cli) -> None:
    code, _, err = cli("fleet", EXAMPLES / "megapod.yaml")
    assert code == 2 and "no fleet" in err
