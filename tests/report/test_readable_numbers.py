"""Figures read by people never show ``nan``, ``inf`` or an exponent: a figure that cannot be
computed says why ("running", "–")."""

from __future__ import annotations

import math
import re

import pytest

from megapod.report import format as fmt
from megapod.report.sim_report import summary_rows

NOT_A_NUMBER = re.compile(r"nan|inf|\de[+-]\d", re.IGNORECASE)


@pytest.mark.parametrize("show", [fmt.power, fmt.energy, fmt.flops, fmt.rate, fmt.memory, fmt.count])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_unit_formats_say_a_dash_for_what_is_not_finite(show: object, value: float) -> None:
    text = show(value)  # type: ignore[operator]
    assert not NOT_A_NUMBER.search(text), text


def test_a_run_whose_jobs_are_all_running_says_so() -> None:
    summary = {
        "gpus": 576,
        "jobs": 1,
        "jobs_done": 0,
        "jobs_running_at_end": 1,
        "jobs_queued_at_end": 0,
        "jct_mean_s": math.nan,
        "jct_p50_s": math.nan,
        "jct_p99_s": math.nan,
        "queue_mean_s": 0.0,
        "queue_p99_s": 0.0,
        "mean_pue": 1.1,
    }
    rows = dict(summary_rows(summary))
    assert rows["JCT mean [s]"] == "running" and rows["JCT p99 [s]"] == "running"
    assert not any(NOT_A_NUMBER.search(v) for v in rows.values()), rows


def test_a_run_with_nothing_started_or_powered_shows_no_nan() -> None:
    summary = {
        "gpus": 8,
        "jobs": 2,
        "jobs_done": 0,
        "jobs_running_at_end": 0,
        "jobs_queued_at_end": 2,
        "utilization": 0.0,
        "jct_mean_s": math.nan,
        "queue_mean_s": math.nan,
        "queue_p99_s": math.nan,
        "mean_pue": math.nan,
        "mean_price_usd_per_mwh": math.nan,
        "facility_energy_mwh": 1e-7,
    }
    rows = dict(summary_rows(summary))
    assert rows["queue mean [s]"] == "queued" and rows["JCT mean [s]"] == "queued"
    assert not any(NOT_A_NUMBER.search(v) for v in rows.values()), rows


def test_a_fixed_format_keeps_finite_values_and_dashes_the_rest() -> None:
    assert fmt.fixed(0.60714, ",.3f") == "0.607"
    assert fmt.fixed(math.nan, ".2f") == "–" and fmt.fixed(math.inf, ".2f") == "∞"
