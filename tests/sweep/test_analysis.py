"""Pareto front and sensitivity on tables whose answers are known."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from megapod.sweep import pareto_front, sensitivity


def frame() -> pd.DataFrame:
    f = pd.DataFrame(
        {
            "point": range(7),
            "a": ["x", "x", "y", "y", "z", "z", "z"],
            "b": [1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 2.0],
            "status": ["ok", "ok", "ok", "ok", "ok", "failed", "ok"],
            "cost": [3.0, 1.0, 2.0, 4.0, 1.0, 0.0, math.nan],
            "speed": [3.0, 1.0, 2.0, 5.0, 2.0, 9.0, 9.0],
        }
    )
    f.attrs.update({"axes": ["a", "b"], "objectives": {"cost": "min", "speed": "max"}})
    return f


def test_pareto_front_keeps_the_non_dominated_ok_points() -> None:
    front = pareto_front(frame())
    # 0 (3,3) beaten by none; 1 (1,1) beaten by 4 (1,2); 2 (2,2) beaten by 4 (1,2); 3 (4,5) kept
    assert front["point"].tolist() == [4, 0, 3]  # sorted by the first objective (cost, min)


def test_pareto_front_with_other_objectives() -> None:
    assert pareto_front(frame(), {"cost": "min"})["point"].tolist() == [1, 4]  # ties both stay
    with pytest.raises(KeyError, match="no output column"):
        pareto_front(frame(), {"price": "min"})


def test_sensitivity_ranks_axes_by_swing_of_group_means() -> None:
    t = sensitivity(frame(), "speed")
    ok = frame().query("status == 'ok'").dropna(subset=["speed"])
    assert t["axis"].tolist() == ["a", "b"]
    row = t.iloc[0]  # a: x -> 2.0, y -> 3.5, z -> 5.5
    assert (row["low_value"], row["high_value"]) == ("x", "z")
    assert row["low"] == pytest.approx(2.0)
    assert row["high"] == pytest.approx(5.5)
    assert row["swing"] == pytest.approx(3.5)
    assert row["baseline"] == pytest.approx(ok["speed"].mean())


def test_sensitivity_bins_a_sampled_numeric_axis() -> None:
    f = pd.DataFrame({"x": [float(i) for i in range(40)], "status": "ok", "y": [2.0 * i for i in range(40)]})
    t = sensitivity(f, "y", ["x"], bins=4)
    assert t["low_value"].iloc[0].startswith("-0.")  # the lowest quartile bin
    assert t["swing"].iloc[0] == pytest.approx(2.0 * 30)  # quartile means 9..69
