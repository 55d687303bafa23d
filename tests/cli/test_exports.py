"""Exports of the series a report plots, and output paths checked before any work."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from tests.conftest import EXAMPLES

Cli = Callable[..., tuple[int, str, str]]
SITE = str(EXAMPLES / "megapod.yaml")
PLAN = ("plan", SITE, "--model", "llama3-70b", "--tokens", "2T", "--deadline", "30d")
POWER = str(EXAMPLES / "scenarios" / "megapod_power.yaml")


def test_plan_hourly_series_as_csv(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "hourly.csv"
    code, _, err = cli(*PLAN, "--series", str(out))
    assert code == 0, err
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["hour", "outdoor_c", "it_w", "facility_w", "pue"]
    assert len(frame) == 8760
    assert (frame["facility_w"] >= frame["it_w"]).all()
    assert frame["pue"].to_numpy() == pytest.approx(
        (frame["facility_w"] / frame["it_w"]).to_numpy(), rel=1e-9
    )


def test_power_profile_waveforms_as_parquet(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "wave.parquet"
    code, _, err = cli("power-profile", POWER, "--series", str(out))
    assert code == 0, err
    frame = pd.read_parquet(out)
    assert len(frame) == 600_000 and frame["time_s"].iloc[1] == pytest.approx(0.001)
    assert {"baseline_grid_w", "battery_grid_w", "battery_battery_w", "battery_soc"} <= set(frame.columns)
    # with the battery the grid sees the load less the battery's discharge
    assert frame["battery_grid_w"].std() < frame["baseline_grid_w"].std()
    assert frame["battery_soc"].between(0, 1).all()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--series", "{tmp}/hourly.txt"), "give a file ending in .csv or .parquet"),
        (("--series", "{tmp}/missing/hourly.csv"), "does not exist"),
        (("--html", "{tmp}/existing.html"), "already exists; pass --force"),
        (("--html", "{tmp}"), "is a folder"),
    ],
)
def test_bad_output_paths_exit_2_before_the_plan(
    cli: Cli, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    (tmp_path / "existing.html").write_text("keep me")
    code, out, err = cli(*PLAN, *(a.format(tmp=tmp_path) for a in args))
    assert code == 2 and message in err and out == ""
    assert (tmp_path / "existing.html").read_text() == "keep me"


def test_force_replaces_the_file(cli: Cli, tmp_path: Path) -> None:
    page = tmp_path / "plan.html"
    page.write_text("old")
    code, _, err = cli(*PLAN, "--html", str(page), "--force")
    assert code == 0, err
    assert page.read_text().startswith("<!doctype html>")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


def test_capability_refuses_plan_outputs(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("plan", SITE, "--capability", "--html", str(tmp_path / "x.html"))
    assert code == 2 and "--capability" in err


def test_simulate_writes_its_tables_as_csv_too(cli: Cli, tmp_path: Path) -> None:
    week = EXAMPLES / "scenarios" / "megapod_week.yaml"
    code, _, err = cli("simulate", week, "--csv")
    assert code == 2 and "--csv" in err and "--out" in err
    code, _, err = cli("simulate", week, "--out", tmp_path / "run", "--csv")
    assert code == 0, err
    for name in ("jobs", "series", "pods"):
        csv = pd.read_csv(tmp_path / "run" / f"{name}.csv")
        parquet = pd.read_parquet(tmp_path / "run" / f"{name}.parquet")
        assert list(csv.columns) == list(parquet.columns) and len(csv) == len(parquet)
