"""The work-unit kernel, checkpoints and the car's battery, on their own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from megapod.agent import checkpoint
from megapod.agent.battery import SimulatedBattery, SystemBattery
from megapod.agent.loop import hours_left_s
from megapod.errors import SpecError
from megapod.fleet.kernels import KERNELS, run_unit

TINY = KERNELS["tiny-lm"].check({"batch": 3, "new_tokens": 12, "d_model": 16, "vocab": 40})


def test_the_kernel_is_deterministic_and_seed_dependent() -> None:
    a, b = run_unit("tiny-lm", TINY, 5), run_unit("tiny-lm", TINY, 5)
    assert a == b and len(a) == 64
    assert len({run_unit("tiny-lm", TINY, s) for s in range(6)}) == 6
    other = KERNELS["tiny-lm"].check({**TINY, "model_seed": 1})
    assert run_unit("tiny-lm", other, 5) != a
    k = KERNELS["tiny-lm"]
    state = k.advance(TINY, k.start(TINY, 5), 12)
    assert len(set(state.arrays["out"].ravel().tolist())) > 3  # it writes varied tokens


@settings(max_examples=30, deadline=None)
@given(chunks=st.lists(st.integers(1, 5), min_size=1, max_size=12))
def test_running_in_chunks_gives_the_same_result(chunks: list[int]) -> None:
    k = KERNELS["tiny-lm"]
    state = k.start(TINY, 9)
    for c in chunks:
        state = k.advance(TINY, state, c)
    state = k.advance(TINY, state, k.steps(TINY))
    assert k.digest(TINY, state) == run_unit("tiny-lm", TINY, 9)


def test_an_unfinished_unit_has_no_result_and_bad_params_name_the_field() -> None:
    k = KERNELS["tiny-lm"]
    with pytest.raises(ValueError, match="not finished"):
        k.digest(TINY, k.advance(TINY, k.start(TINY, 1), 3))
    with pytest.raises(SpecError, match="params: new_tokens"):
        k.check({"new_tokens": 0}, "params")
    assert k.tokens(TINY) == 3 * 12


def test_a_checkpoint_resumes_to_the_same_result(tmp_path: Path) -> None:
    k = KERNELS["tiny-lm"]
    lease = {"replica_id": 7, "kernel": "tiny-lm", "params": TINY, "seed": 4, "lease_s": 60.0}
    checkpoint.save(tmp_path, lease, k.advance(TINY, k.start(TINY, 4), 5))
    assert checkpoint.pending(tmp_path) == [checkpoint.path_of(tmp_path, 7)]
    got_lease, state = checkpoint.load(checkpoint.path_of(tmp_path, 7))
    assert got_lease == lease and state.step == 5
    done = k.advance(TINY, state, 100)
    assert k.digest(TINY, done) == run_unit("tiny-lm", TINY, 4)
    checkpoint.drop(tmp_path, 7)
    assert checkpoint.pending(tmp_path) == []


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_the_simulated_battery_charges_to_the_limit_and_drains_computing() -> None:
    clock = FakeClock()
    bat = SimulatedBattery("tesla-ai4", "us-average", soc=0.5, plugged_in=True, clock=clock)
    clock.t = 3600.0
    up = bat.read(computing=True).soc
    # one hour on the home charger: P x eta / E of the catalog car and region
    gain = bat.home.charger_power_w * bat.home.charger_efficiency / bat.car.battery_energy_wh
    assert up == pytest.approx(0.5 + gain)
    clock.t = 100 * 3600.0
    assert bat.read(computing=False).soc == pytest.approx(0.9)  # the daily charge limit
    off = SimulatedBattery("tesla-ai4", soc=0.8, plugged_in=False, speed=10.0, clock=clock)
    wait_s = off.seconds_to(0.5)
    assert wait_s == pytest.approx(0.3 * 75_000 / off.draw_w * 3600 / 10)
    clock.t += wait_s
    assert off.read(computing=False).soc == 0.8  # idle: no drain
    clock.t += wait_s
    assert off.read(computing=True).soc == pytest.approx(0.5)
    assert bat.seconds_to(0.5) == np.inf
    with pytest.raises(SpecError, match="soc"):
        SimulatedBattery(soc=1.2)


def test_the_machines_battery_is_read_from_sysfs(tmp_path: Path) -> None:
    (tmp_path / "BAT0").mkdir()
    (tmp_path / "BAT0" / "type").write_text("Battery\n")
    (tmp_path / "BAT0" / "capacity").write_text("42\n")
    (tmp_path / "AC").mkdir()
    (tmp_path / "AC" / "type").write_text("Mains\n")
    (tmp_path / "AC" / "online").write_text("1\n")
    assert SystemBattery.present(tmp_path)
    state = SystemBattery(tmp_path).read(computing=True)
    assert (state.plugged_in, state.soc) == (True, 0.42)
    assert not SystemBattery.present(tmp_path / "none")


def test_hours_left_until_the_allowed_hours_end() -> None:
    assert hours_left_s(list(range(24)), 5, 0.0) == np.inf
    assert hours_left_s([22, 23, 0, 1], 23, 1800.0) == 1800.0 + 2 * 3600.0
    assert hours_left_s([1, 2], 5, 0.0) == 0.0
