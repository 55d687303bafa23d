"""Points of a design: drawn in a fixed order, resolved to validated inputs, keyed by them."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import EXAMPLES
from tests.sweep.conftest import SHORT, WriteSweep

from megapod.spec.sweep import load_sweep
from megapod.sweep.design import expand, resolve


def test_grid_multiplies_out_last_axis_fastest_then_seeds(write_sweep: WriteSweep) -> None:
    sw = load_sweep(
        write_sweep(
            f"name: t\n{SHORT}\naxes:\n"
            "  - {path: policies.queue, name: q, values: [fifo, sjf]}\n"
            "  - {path: energy.price_usd_per_mwh, name: p, low: 10, high: 30, steps: 3}\n"
            "seeds: [4, 5]\n"
        )
    )
    points = expand(sw)
    assert len(points) == 2 * 3 * 2
    assert [p.values for p in points[:4]] == [
        {"q": "fifo", "p": 10.0, "seed": 4},
        {"q": "fifo", "p": 10.0, "seed": 5},
        {"q": "fifo", "p": 20.0, "seed": 4},
        {"q": "fifo", "p": 20.0, "seed": 5},
    ]
    assert points[-1].values == {"q": "sjf", "p": 30.0, "seed": 5}
    assert [p.values for p in expand(sw, max_points=3)] == [p.values for p in points[:3]]


def test_list_pairs_the_axes(write_sweep: WriteSweep) -> None:
    sw = load_sweep(
        write_sweep(
            f"name: t\n{SHORT}\naxes:\n  - {{path: seed, values: [1, 2, 3]}}\n"
            "  - {path: policies.queue, values: [fifo, sjf, las]}\nsample: {method: list}\n"
        )
    )
    assert [tuple(p.values.values()) for p in expand(sw)] == [(1, "fifo"), (2, "sjf"), (3, "las")]


def test_random_and_lhs_are_reproducible_and_in_range(write_sweep: WriteSweep) -> None:
    for method in ("random", "lhs"):
        text = (
            f"name: t\n{SHORT}\naxes:\n"
            "  - {path: energy.price_usd_per_mwh, name: p, low: 10, high: 50}\n"
            "  - {path: failures.rate_scale, name: r, low: 0.1, high: 10, log: true}\n"
            "  - {path: failures.hot_spares, name: h, low: 0, high: 3, integer: true}\n"
            "  - {path: policies.queue, name: q, values: [fifo, sjf]}\n"
            f"sample: {{method: {method}, points: 40, seed: 3}}\n"
        )
        first = [p.values for p in expand(load_sweep(write_sweep(text)))]
        again = [p.values for p in expand(load_sweep(write_sweep(text)))]
        assert first == again
        assert len(first) == 40
        assert all(10 <= v["p"] <= 50 and 0.1 <= v["r"] <= 10 and v["h"] in (0, 1, 2, 3) for v in first)
        assert {v["q"] for v in first} == {"fifo", "sjf"}
        other = [p.values for p in expand(load_sweep(write_sweep(text.replace("seed: 3", "seed: 4"))))]
        assert other != first
        if method == "lhs":  # one draw in each of the 40 strata of every range
            strata = sorted(int((v["p"] - 10) / 40 * 40) for v in first)
            assert strata == list(range(40))
            assert sum(v["q"] == "fifo" for v in first) == 20


def test_keys_hash_the_resolved_inputs(write_sweep: WriteSweep) -> None:
    sw = load_sweep(
        write_sweep(
            f"name: t\n{SHORT}\naxes:\n"
            "  - {path: horizon_s, name: horizon, values: [1 d, 86400, 2 d]}\n"
            "  - {path: 'site.pods[0].cooling.plant', name: plant, values: [direct-liquid, air-chiller]}\n"
        )
    )
    points = [resolve(sw, p) for p in expand(sw)]
    keys = [p.key for p in points]
    assert keys[0] == keys[2] and keys[1] == keys[3]  # "1 d" and 86400 are the same run
    assert len(set(keys)) == 4
    assert points[0].columns == {"horizon": 86400.0, "plant": "direct-liquid"}  # units converted
    assert points[5].inputs.site.pods[0].cooling.plant.name == "air-chiller"
    assert points[5].inputs.horizon_s == 2 * 86400


def test_keys_do_not_depend_on_where_the_files_are(tmp_path: Path) -> None:
    sweep_text = (EXAMPLES / "sweeps" / "megapod_sweep.yaml").read_text(encoding="utf-8")
    keys = []
    for name in ("a", "b"):
        root = tmp_path / name
        (root / "scenarios").mkdir(parents=True)
        shutil.copy(EXAMPLES / "megapod.yaml", root / "megapod.yaml")
        shutil.copy(EXAMPLES / "scenarios" / "megapod_week.yaml", root / "scenarios" / "megapod_week.yaml")
        (root / "sweeps").mkdir()
        (root / "sweeps" / "sweep.yaml").write_text(sweep_text, encoding="utf-8")
        sw = load_sweep(root / "sweeps" / "sweep.yaml")
        keys.append([resolve(sw, p).key for p in expand(sw, max_points=5)])
    assert keys[0] == keys[1]


def test_plan_points_resolve_to_site_and_goal() -> None:
    sw = load_sweep(EXAMPLES / "sweeps" / "plan_sweep.yaml")
    point = resolve(sw, expand(sw)[0])
    site, goal = point.inputs
    assert site.location.climate == point.columns["climate"]
    assert site.pods[0].power.battery.units == point.columns["battery_units"]
    assert goal.tokens == point.columns["tokens"]
    assert 5e11 <= goal.tokens <= 2e12
