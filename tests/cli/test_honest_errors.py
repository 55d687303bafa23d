"""Errors that say what is wrong, all of it, before any work is done."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from megapod.errors import SpecError
from megapod.spec import load_site

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WEEK = EXAMPLES / "scenarios" / "megapod_week.yaml"
Cli = Callable[..., tuple[int, str, str]]


def test_a_site_file_given_to_simulate_says_what_it_is(cli: Cli) -> None:
    code, _, err = cli("simulate", EXAMPLES / "megapod.yaml")
    assert code == 2 and "this is a site spec; simulate takes a scenario" in err
    code, _, err = cli("simulate", EXAMPLES / "fleet.yaml")  # the scenarios that name it are listed
    assert code == 2 and "fleet_mix.yaml" in err and "fleet_week.yaml" in err


def test_out_folder_is_checked_before_the_run(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    code, out, err = cli("simulate", WEEK, "--out", tmp_path / "a-file")
    assert code == 2 and "is a file" in err and "utilization" not in out
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "summary.json").write_text("{}")
    code, out, err = cli("simulate", WEEK, "--out", tmp_path / "full")
    assert code == 2 and "--force" in err and "utilization" not in out
    code, out, err = cli("simulate", WEEK, "--out", tmp_path / "full", "--force")
    assert code == 0, err
    assert (tmp_path / "full" / "summary.json").read_text() != "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "full"]  # no temporary left


def test_out_folder_and_its_parents_are_created(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("simulate", WEEK, "--out", tmp_path / "new" / "run")
    assert code == 0, err
    assert {p.name for p in (tmp_path / "new" / "run").iterdir()} >= {
        "summary.json",
        "report.html",
        "pods.parquet",
    }


def test_an_unknown_kind_lists_every_kind(cli: Cli) -> None:
    code, _, err = cli("catalog", "gpus-typo-xyz")
    assert code == 2
    for kind in ("battery", "cooling", "gpu", "system", "vehicle"):
        assert kind in err


def test_every_problem_of_a_document_is_reported(tmp_path: Path) -> None:
    text = (EXAMPLES / "megapod.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text + "\nbogus_one: 1\nbogus_two: 2\n")
    with pytest.raises(SpecError) as e:
        load_site(bad)
    msg = str(e.value)
    assert "bogus_one" in msg and "bogus_two" in msg and "more problem" not in msg


@pytest.mark.parametrize(("key", "value"), [("climate", "atlantis"), ("grid_region", "mars-grid")])
def test_validate_checks_profile_names(cli: Cli, tmp_path: Path, key: str, value: str) -> None:
    text = (EXAMPLES / "megapod.yaml").read_text()
    old = {"climate": "climate: austin-tx", "grid_region": "grid_region: ercot"}[key]
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace(old, f"{key}: {value}"))
    code, _, err = cli("validate", bad)
    assert code == 2 and f"location.{key}" in err and value in err and "known:" in err
