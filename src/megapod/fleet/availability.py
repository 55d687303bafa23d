"""Where every car is, step by step: the hourly Markov process of :class:`MobilityEntry`,
vectorised over the fleet, with each car's state of charge and its owner's limits.

One :class:`VehicleProcess` holds the state of ``n`` cars as arrays. :meth:`VehicleProcess.move`
advances them one step (trips start and end, cars plug in, batteries drain and charge);
:meth:`VehicleProcess.can_compute` says which cars may run work now. All randomness comes from
the generator handed in, in a fixed order, so a seed gives the same fleet byte for byte.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from megapod.catalog.vehicle import AWAY, DRIVING, HOME_PLUGGED, HOME_UNPLUGGED, MobilityEntry
from megapod.fleet.rules import soc_latch
from megapod.spec.fleet import (
    CHARGE_LIMIT_SOC,  # the charger's fill level, checked by the spec
    Fleet,
)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Lowest state of charge a car reaches by driving (it would stop to charge first).
DRIVING_FLOOR_SOC = 0.05


def step_tables(mobility: MobilityEntry, step_s: float) -> dict[str, FloatArray]:
    """Per step of the week (Monday 00:00 first): the probabilities of departing, arriving and
    plugging in late, the home-arrival share, and the expected parked time left [s]."""
    per_week = round(7 * 86400 / step_s)
    dep = np.empty(per_week)
    arr = np.empty(per_week)
    late = np.empty(per_week)
    home = np.empty(per_week)
    for k in range(per_week):
        hour_of_week = int(k * step_s // 3600)
        hour, weekend = hour_of_week % 24, hour_of_week // 24 >= 5
        dep[k], arr[k], late[k] = mobility.step_probabilities(hour, weekend, step_s)
        home[k] = mobility.home_arrival_share[hour]
    # expected parked time left at the start of step k, E_k = (1 - p_k)(dt + E_{k+1}), periodic
    remaining = np.zeros(per_week)
    nxt = 0.0
    for _ in range(3):
        for k in range(per_week - 1, -1, -1):
            nxt = (1.0 - dep[k]) * (step_s + nxt)
            remaining[k] = nxt
    return {"depart": dep, "arrive": arr, "late_plug": late, "home": home, "remaining_s": remaining}


class VehicleProcess:
    """The state of ``n`` cars: location/plug state, state of charge, the compute latch.

    Args:
        fleet: the fleet spec (mobility, owner limits, the car and the home charger).
        n: cars to simulate.
        rng: the run's generator.
    """

    def __init__(self, fleet: Fleet, n: int, rng: np.random.Generator) -> None:
        self.fleet = fleet
        self.n = n
        self.rng = rng
        self.step_s = fleet.step_s
        self.tables = step_tables(fleet.mobility, fleet.step_s)
        self.per_week = self.tables["depart"].size
        start = np.asarray(fleet.mobility.expected_shares(fleet.step_s)[-1])
        self.state: npt.NDArray[np.int8] = rng.choice(4, size=n, p=start / start.sum()).astype(np.int8)
        owner = fleet.owner
        self.soc: FloatArray = rng.uniform(owner.min_soc, CHARGE_LIMIT_SOC, size=n)
        self.latch: BoolArray = self.soc >= owner.min_soc + owner.soc_hysteresis
        self.depart_at = np.full(n, -1, dtype=np.int64)
        self.notice_steps = math.ceil(owner.departure_notice_s / fleet.step_s)
        hours = np.zeros(24, dtype=bool)
        hours[owner.allowed_hours] = True
        self.allowed_hour = hours

    def hour(self, step: int) -> int:
        """Local hour of day at the start of ``step``."""
        return int(step * self.step_s // 3600) % 24

    def remaining_s(self, step: int) -> float:
        """Expected time a parked car stays parked from the start of ``step`` [s]."""
        return float(self.tables["remaining_s"][step % self.per_week])

    def move(self, step: int) -> BoolArray:
        """Advance every car through ``step``; return the cars that drove off in it."""
        k = step % self.per_week
        t = self.tables
        u = self.rng.random((4, self.n), dtype=np.float32)
        state = self.state
        parked = state != DRIVING
        # trips that start: now, or after the notice for a share of owners who announce them
        starts = parked & (self.depart_at < 0) & (u[0] < t["depart"][k])
        if self.notice_steps > 0 and self.fleet.owner.notice_share > 0:
            announced = starts & (u[1] < self.fleet.owner.notice_share)
            self.depart_at[announced] = step + self.notice_steps
            starts &= ~announced
        due = self.depart_at == step
        departing = parked & (starts | due)
        self.depart_at[due] = -1
        arriving = (state == DRIVING) & (u[0] < t["arrive"][k])
        at_home = u[2] < t["home"][k]
        plugs = u[3] < self.fleet.mobility.home_plug_in_probability
        late = (state == HOME_UNPLUGGED) & ~departing & (u[3] < t["late_plug"][k])
        new = state.copy()
        new[departing] = DRIVING
        new[arriving & at_home & plugs] = HOME_PLUGGED
        new[arriving & at_home & ~plugs] = HOME_UNPLUGGED
        new[arriving & ~at_home] = AWAY
        new[late] = HOME_PLUGGED
        self.state = new
        # batteries: driving drains, a home charger fills up to the charge limit
        car, home = self.fleet.module, self.fleet.home
        dt_h = self.step_s / 3600.0
        drive = (new == DRIVING) * (car.driving_power_w * dt_h / car.battery_energy_wh)
        charge = (new == HOME_PLUGGED) * (
            home.charger_power_w * home.charger_efficiency * dt_h / car.battery_energy_wh
        )
        self.soc = np.where(
            new == HOME_PLUGGED,
            np.where(self.soc < CHARGE_LIMIT_SOC, np.minimum(self.soc + charge, CHARGE_LIMIT_SOC), self.soc),
            np.maximum(self.soc - drive, np.minimum(self.soc, DRIVING_FLOOR_SOC)),
        )
        self._update_latch()
        return np.asarray(departing, dtype=np.bool_)

    def _update_latch(self) -> None:
        owner = self.fleet.owner
        latch = soc_latch(self.soc, self.latch, owner.min_soc, owner.soc_hysteresis)
        self.latch = np.asarray(latch, dtype=np.bool_)

    def location_ok(self) -> BoolArray:
        """Cars at home where work may run: plugged in, or unplugged if the owners allow it."""
        ok = self.state == HOME_PLUGGED
        if self.fleet.owner.allow_unplugged:
            ok |= self.state == HOME_UNPLUGGED
        return np.asarray(ok, dtype=np.bool_)

    def can_compute(self, step: int) -> BoolArray:
        """Cars that may run work during ``step``: at home, an allowed hour, latch on."""
        if not self.allowed_hour[self.hour(step)]:
            return np.zeros(self.n, dtype=bool)
        return self.location_ok() & self.latch

    def draw_battery(self, cars: BoolArray, energy_wh: float) -> BoolArray:
        """Take ``energy_wh`` from the batteries of unplugged ``cars`` where that keeps them at
        or above the minimum state of charge; return the cars that could not (they pause)."""
        unplugged = cars & (self.state == HOME_UNPLUGGED)
        drop = energy_wh / self.fleet.module.battery_energy_wh
        short = unplugged & (self.soc - drop < self.fleet.owner.min_soc)
        take = unplugged & ~short
        self.soc[take] -= drop
        self.latch[short] = False
        self._update_latch()
        return np.asarray(short, dtype=np.bool_)


def availability_by_hour(fleet: Fleet, cars: int = 1_000, days: int = 7, seed: int = 0) -> list[float]:
    """Share of the fleet's cars that may compute in each hour of the day (0–23): parked where
    the owner allows work, in an allowed hour, above the battery floor — the cars' own moves
    over ``days`` days, without the drain of the work itself (what the car park offers)."""
    if not 1 <= cars <= 100_000 or not 1 <= days <= 366:
        raise ValueError(f"cars {cars} and days {days} must be within 1–100,000 and 1–366")
    proc = VehicleProcess(fleet, cars, np.random.default_rng(seed))
    steps = round(days * 86_400 / fleet.step_s)
    total = np.zeros(24)
    count = np.zeros(24)
    for step in range(steps):
        proc.move(step)
        h = proc.hour(step)
        total[h] += float(proc.can_compute(step).mean())
        count[h] += 1
    return [float(x) for x in np.divide(total, count, out=np.zeros(24), where=count > 0)]
