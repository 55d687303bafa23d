"""The vehicle and owner model: catalog data, the spec, the availability process, refusals."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from megapod import catalog
from megapod.catalog.vehicle import DRIVING, HOME_PLUGGED, STATES
from megapod.errors import SpecError
from megapod.fleet.availability import VehicleProcess, step_tables
from megapod.fleet.work import check_work, unit_cost
from megapod.spec.fleet import Fleet
from megapod.spec.loader import validate


def fleet(**fields: Any) -> Fleet:
    return validate(Fleet, {"vehicles": 1000, "module": "tesla-ai4", **fields}, "fleet")


@pytest.mark.parametrize("kind", ["vehicle", "mobility", "home-region"])
def test_fleet_catalog_entries_cite_sources(kind: str) -> None:
    for name in catalog.names(kind):
        entry = catalog.get(kind, name)
        assert len(entry.source) > 20


def test_estimates_say_so_and_measured_prices_do_not() -> None:
    assert catalog.get("mobility", "us-nhts-2022").is_estimate
    assert not catalog.get("home-region", "california").is_estimate
    assert catalog.get("home-region", "california").electricity_usd_per_kwh == pytest.approx(0.2951)


def test_driving_time_matches_the_survey_figure() -> None:
    # ~2.4 trips a day of ~22 min: ~53 min of driving a day (NHTS 2022 / AAA ~1 h)
    m = catalog.get("mobility", "us-nhts-2022")
    shares = np.asarray(m.expected_shares(60.0))
    minutes = shares[:, DRIVING].mean() * 24 * 60
    assert 45 < minutes < 60


def test_sampled_process_matches_the_exact_expectation() -> None:
    """The per-car sampled chain against the exactly propagated distribution (independent code)."""
    f = fleet(step_s=900)
    cars = VehicleProcess(f, 20_000, np.random.default_rng(3))
    per_week = 7 * 96
    seen = np.zeros((per_week, len(STATES)))
    for step in range(2 * per_week):
        cars.move(step)
        if step >= per_week:
            seen[step % per_week] = np.bincount(cars.state, minlength=4) / cars.n
    exact = np.asarray(f.mobility.expected_shares(900.0))
    assert np.abs(seen - exact).max() < 0.03
    assert abs(seen[:, HOME_PLUGGED].mean() - exact[:, HOME_PLUGGED].mean()) < 0.01


def test_availability_is_derived_when_omitted_and_kept_when_given() -> None:
    derived = fleet()
    assert derived.availability == pytest.approx(derived.mobility.expected_hourly(), abs=1e-4)
    assert 0.25 < sum(derived.availability) / 24 < 0.5
    given = fleet(availability=[0.5] * 24)
    assert given.availability == [0.5] * 24


def test_expected_parked_time_is_longest_overnight() -> None:
    t = step_tables(catalog.get("mobility", "us-nhts-2022"), 900.0)
    per_day = t["remaining_s"][:96]
    assert per_day[22 * 4] > per_day[8 * 4] > 3600  # 22:00 beats 08:00, both over an hour


def test_hysteresis_latch_does_not_flap() -> None:
    f = fleet(owner={"min_soc": 0.5, "soc_hysteresis": 0.1, "allow_unplugged": True})
    cars = VehicleProcess(f, 1, np.random.default_rng(0))
    cars.state[:] = 2  # home, unplugged
    cars.soc[:] = 0.505
    cars.latch[:] = True
    toggles, last = 0, True
    for _ in range(40):
        cars.draw_battery(np.ones(1, dtype=bool), 100.0)
        cars.soc += 0.0004  # a trickle back up, around the threshold
        cars._update_latch()
        toggles += int(cars.latch[0] != last)
        last = bool(cars.latch[0])
        assert cars.soc[0] >= 0.5
    assert toggles <= 2


@pytest.mark.parametrize(
    ("fields", "path", "words"),
    [
        ({"work": {"model_params": 70e9}}, "fleet.work.model_params", "GB"),
        ({"max_power_draw_w_per_vehicle": 300}, "fleet.max_power_draw_w_per_vehicle", "awake car"),
        ({"work": {"output_bytes_per_unit": "6 GB"}}, "fleet.work.output_bytes_per_unit", "B per operation"),
        ({"work": {"input_bytes_per_unit": "30 GB"}}, "fleet.work.input_bytes_per_unit", "B per operation"),
        ({"work": {"deadline_s": "10 min"}}, "fleet.work.deadline_s", "takes"),
        ({"validation": {"timeout_s": "10 min"}}, "fleet.validation.timeout_s", "shorter"),
        ({"owner": {"data_cap_bytes_per_month": "1 MB"}}, "fleet.owner.data_cap_bytes_per_month", "below"),
    ],
)
def test_work_the_fleet_cannot_carry_is_refused_with_the_reason(
    fields: dict[str, Any], path: str, words: str
) -> None:
    with pytest.raises(SpecError) as e:
        check_work(fleet(**fields))
    assert e.value.path == path and words in e.value.problem


def test_unit_rate_is_the_lower_of_compute_and_memory_bound() -> None:
    c = unit_cost(fleet())
    assert c.bound == "memory bandwidth"
    assert c.tokens_per_s == pytest.approx(32 * 224e9 / 8e9)
    big_batch = unit_cost(fleet(work={"batch": 4096}))
    assert big_batch.bound == "compute"
    assert big_batch.tokens_per_s == pytest.approx(300e12 * 0.3 / 16e9)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"economics": {"schemes": ["pps-typo"]}}, "known: pay-per-share, pplns, revenue-share"),
        ({"validation": {"replicas": 2, "quorum": 3}}, "could never be met"),
        ({"owner": {"min_soc": 0.98, "soc_hysteresis": 0.05}}, "must be <= 1"),
        ({"owner": {"allowed_hours": [25]}}, "0..23"),
        ({"mobility": "us-nhts-2099"}, "unknown mobility"),
        ({"step_s": "7 min"}, "divide an hour"),
    ],
)
def test_bad_fleet_specs_name_the_field(fields: dict[str, Any], words: str) -> None:
    with pytest.raises(SpecError, match=words):
        fleet(**fields)
