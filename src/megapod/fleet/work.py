"""Work units on a car: how fast one runs, how long it takes, and what the fleet refuses.

A car decodes ``r = min(peak × compute_efficiency / flops_per_token, batch × memory_bw /
weight_bytes)`` tokens per second (the compute roofline or the weight-streaming bound of
decoding, whichever is lower). A unit of ``T`` tokens with ``b_in`` bytes in and ``b_out`` out
takes ``b_in·8 / downlink + T / r + b_out·8 / uplink`` seconds (transfers not overlapped with
compute), where each link is the slower of the home broadband and the car's own Wi-Fi.
"""

from __future__ import annotations

from dataclasses import dataclass

from megapod.errors import SpecError
from megapod.physics.decode import work_rate
from megapod.spec.fleet import Fleet
from megapod.units import BITS_PER_BYTE


@dataclass(frozen=True)
class UnitCost:
    """What one work unit costs one car.

    Attributes:
        tokens_per_s: tokens the car produces per second while running [1/s].
        compute_s: compute time of a unit [s].
        transfer_s: download plus upload time of a unit [s].
        runtime_s: ``compute_s + transfer_s`` [s].
        bound: ``"compute"`` or ``"memory bandwidth"``: what limits ``tokens_per_s``.
        peak_ops: the car's peak at the work's dtype [op/s].
        uplink_bps, downlink_bps: the links the unit's bytes go over [bit/s].
    """

    tokens_per_s: float
    compute_s: float
    transfer_s: float
    runtime_s: float
    bound: str
    peak_ops: float
    uplink_bps: float
    downlink_bps: float


def unit_cost(fleet: Fleet) -> UnitCost:
    """Rate and runtime of one work unit on one of the fleet's cars."""
    work, car, home = fleet.work, fleet.module, fleet.home
    peak = car.int8_ops if work.dtype == "int8" else car.fp16_flops
    dec = work_rate(work, peak, car.memory_bw_bytes_per_s)
    rate = dec.tokens_per_s
    up = min(home.uplink_rate_bps, car.uplink_rate_bps)
    down = min(home.downlink_rate_bps, car.uplink_rate_bps)
    transfer = (
        work.input_bytes_per_unit * BITS_PER_BYTE / down + work.output_bytes_per_unit * BITS_PER_BYTE / up
    )
    compute = work.tokens_per_unit / rate
    return UnitCost(
        tokens_per_s=rate,
        compute_s=compute,
        transfer_s=transfer,
        runtime_s=compute + transfer,
        bound=dec.bound,
        peak_ops=peak,
        uplink_bps=up,
        downlink_bps=down,
    )


def check_work(fleet: Fleet, where: str = "fleet.") -> UnitCost:
    """The unit cost, or a :class:`SpecError` naming the field (after the prefix ``where``),
    the value and the limit when the fleet cannot run the work: a computing car draws more
    than the owner's cap, the model does not fit the car's memory, the unit's bytes per
    operation are more than the home link carries while the car computes, a unit cannot
    finish before its deadline or its replica timeout, or one unit is over the data cap."""
    work, car, at = fleet.work, fleet.module, where
    if work.weight_bytes > car.memory_bytes:
        raise SpecError(
            f"{at}work.model_params",
            f"{work.model_params:.3g} parameters at {work.dtype} need {work.weight_bytes / 1e9:.1f} GB; "
            f"the {car.name} has {car.memory_bytes / 1e9:.1f} GB",
        )
    draw_w = (car.power_w + car.awake_overhead_w) / fleet.home.charger_efficiency
    if draw_w > fleet.max_power_draw_w_per_vehicle:
        raise SpecError(
            f"{at}max_power_draw_w_per_vehicle",
            f"{fleet.max_power_draw_w_per_vehicle:,.0f} W: a computing {car.name} draws {draw_w:,.0f} W "
            f"at the wall ({car.power_w:,.0f} W computer + {car.awake_overhead_w:,.0f} W awake car, "
            f"through a {fleet.home.charger_efficiency:.0%} efficient charger)",
        )
    cost = unit_cost(fleet)
    ops = work.tokens_per_unit * work.flops_per_token
    bytes_per_op = (work.input_bytes_per_unit + work.output_bytes_per_unit) / ops
    if cost.transfer_s > cost.compute_s:
        # the most bytes per operation (same in/out split) the link moves while the car computes
        limit = bytes_per_op * cost.compute_s / cost.transfer_s
        down_s = work.input_bytes_per_unit * BITS_PER_BYTE / cost.downlink_bps
        field = "input_bytes_per_unit" if down_s >= cost.transfer_s / 2 else "output_bytes_per_unit"
        raise SpecError(
            f"{at}work.{field}",
            f"{bytes_per_op:.3g} B per operation: moving a unit takes {cost.transfer_s:,.0f} s over "
            f"the home link ({cost.downlink_bps / 1e6:.1f} Mb/s down, {cost.uplink_bps / 1e6:.1f} Mb/s up) "
            f"but computing it {cost.compute_s:,.0f} s; the link carries at most ~{limit:.3g} B per "
            "operation at this car's rate: send fewer bytes or more tokens per unit",
        )
    if cost.runtime_s > work.deadline_s:
        raise SpecError(
            f"{at}work.deadline_s",
            f"{work.deadline_s:,.0f} s: a unit takes {cost.runtime_s:,.0f} s on one car; "
            "make units smaller or the deadline longer",
        )
    if cost.runtime_s > fleet.validation.timeout_s:
        raise SpecError(
            f"{at}validation.timeout_s",
            f"{fleet.validation.timeout_s:,.0f} s: shorter than one unit's {cost.runtime_s:,.0f} s on a car",
        )
    unit_bytes = work.input_bytes_per_unit + work.output_bytes_per_unit
    if unit_bytes > fleet.owner.data_cap_bytes_per_month:
        raise SpecError(
            f"{at}owner.data_cap_bytes_per_month",
            f"{fleet.owner.data_cap_bytes_per_month:,.0f} B: below one unit's {unit_bytes:,.0f} B",
        )
    return cost
