from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from megapod.errors import UnitError
from megapod.units import GIB, parse_quantity


@pytest.mark.parametrize(
    ("text", "dimension", "expected"),
    [
        ("35 kW", "power", 35_000.0),
        ("1.6 MW", "power", 1.6e6),
        ("3.9 MWh", "energy", 3.9e6),
        ("3600 J", "energy", 1.0),
        ("400 Gb/s", "rate", 400e9),
        ("50 GB/s", "rate", 400e9),
        ("3.35 TB/s", "bandwidth", 3.35e12),
        ("80 GiB", "memory", 80 * GIB),
        ("141 GB", "memory", 141e9),
        ("989.4 TFLOP/s", "flops", 989.4e12),
        ("30 min", "time", 1800.0),
        ("18 °C", "temperature", 18.0),
        ("300e12", "flops", 300e12),
        (12, "power", 12.0),
    ],
)
def test_parse_quantity(text: object, dimension: str, expected: float) -> None:
    assert parse_quantity(text, dimension) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "dimension", "fragment"),
    [
        ("35 kg", "power", "unknown power unit 'kg'"),
        ("3 MW", "energy", "'MW' is a unit of power"),
        ("lots", "power", "not a power quantity"),
        (True, "power", "boolean"),
        ([1], "power", "got list"),
        ("nan W", "power", "not a power quantity"),
    ],
)
def test_parse_quantity_refuses(text: object, dimension: str, fragment: str) -> None:
    with pytest.raises(UnitError, match=fragment):
        parse_quantity(text, dimension)


@given(st.floats(min_value=0, max_value=1e15, allow_nan=False))
def test_kilo_prefix_scales_by_a_thousand(value: float) -> None:
    assert math.isclose(parse_quantity(f"{value!r} kW", "power"), value * 1e3, rel_tol=1e-12)
