"""Physical checks: each names the field path, the value and the limit."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from tests.conftest import EXAMPLES

from megapod.errors import SpecError
from megapod.planner.checks import CHECKS, check_site, raise_on_errors
from megapod.spec import site_from_dict

BASE = yaml.safe_load((EXAMPLES / "megapod.yaml").read_text())


def findings(edit: Any) -> list[str]:
    doc = copy.deepcopy(BASE)
    edit(doc)
    return [f"{f.level} {f}" for f in check_site(site_from_dict(doc))]


def test_bundled_pod_is_clean() -> None:
    assert findings(lambda d: None) == []


def test_rack_heat_over_rack_cooling() -> None:
    def edit(d: dict[str, Any]) -> None:
        d["pods"][0]["racks"][0]["cooling_capacity_w"] = "120 kW"

    assert "error pods[0].racks[0]: 132 kW of IT load exceeds 120 kW cooling capacity" in findings(edit)


def test_air_plant_cannot_cool_an_nvl72_rack() -> None:
    def edit(d: dict[str, Any]) -> None:
        d["pods"][0]["cooling"]["plant"] = "air-chiller"

    out = findings(edit)
    assert any("exceeds the 40 kW that the air-chiller plant serves" in f for f in out)
    assert any("warning" in f and "liquid-cooled" in f for f in out)


def test_pod_it_over_feed() -> None:
    def edit(d: dict[str, Any]) -> None:
        d["pods"][0]["power"]["feed_w"] = "1 MW"

    assert any(
        f.startswith("error pods[0].power.feed_w: 1.10 MW of IT peak load exceeds the 1.00 MW feed")
        for f in findings(edit)
    )


def test_site_over_grid_plus_battery() -> None:
    def edit(d: dict[str, Any]) -> None:
        d["grid"]["feed_w"] = "100 kW"
        d["pods"][0]["power"].pop("ride_through_target_s")
        d["pods"][0]["power"].pop("battery")

    assert any(
        f.startswith("error grid.feed_w: 1.23 MW facility peak exceeds the 100 kW grid feed")
        for f in findings(edit)
    )


def test_nics_over_switch_ports() -> None:
    def edit(d: dict[str, Any]) -> None:
        d["pods"][0]["fabric"]["scale_out"]["leaf_switches"] = 10

    assert (
        "error pods[0].fabric.scale_out.leaf_switches: 576 NIC ports exceed the 320 endpoint "
        "ports of 10 leaf switches" in findings(edit)
    )


def test_single_tier_fabric_too_small() -> None:
    def edit(d: dict[str, Any]) -> None:
        d["pods"][0]["fabric"]["scale_out"]["tiers"] = 1

    assert any("576 NIC ports exceed the 64 that a 1-tier fabric" in f for f in findings(edit))


def test_ride_through_short_of_target() -> None:
    def edit(d: dict[str, Any]) -> None:
        d["pods"][0]["power"]["ride_through_target_s"] = "4 h"

    assert any(
        "180.2 min of ride-through at full load is short of the 240 min target" in f for f in findings(edit)
    )


def test_battery_power_short_of_load() -> None:
    def edit(d: dict[str, Any]) -> None:
        d["pods"][0]["power"]["battery"]["unit"] = "megapack-2xl-4h"

    assert any("979 kW of battery power cannot carry the 1.23 MW facility peak" in f for f in findings(edit))


def test_no_backup_is_a_warning() -> None:
    def edit(d: dict[str, Any]) -> None:
        d["pods"][0]["power"].pop("battery")
        d["pods"][0]["power"].pop("ride_through_target_s")

    assert findings(edit) == [
        "warning pods[0].power: no battery and no generators: a grid outage stops the pod"
    ]


def test_raise_on_errors_counts_the_rest() -> None:
    doc = copy.deepcopy(BASE)
    doc["pods"][0]["racks"][0]["cooling_capacity_w"] = "100 kW"
    doc["pods"][0]["cooling"]["capacity_w"] = "100 kW"
    with pytest.raises(SpecError, match="and 1 more error"):
        raise_on_errors(check_site(site_from_dict(doc)))


def test_checks_registry_refuses_duplicates() -> None:
    from megapod.planner.checks import register_check

    with pytest.raises(ValueError, match="already registered"):
        register_check(next(iter(CHECKS)))(lambda s, i: iter(()))
