"""What a million tokens of a fleet's work costs on the site's pods, beside the fleet.

The pods' cost of a GPU-hour is the planner's (:func:`~megapod.planner.sizing.size_facility`:
the annualized capex and opex of the site's first pod design at its spec count, GPUs at TDP,
over ``8,760 h`` a year: the cost of a GPU-hour used or not). A pod GPU decodes the fleet's
work (its model, data type, batch and kernel efficiency) at the roofline rate
:func:`megapod.physics.decode.work_rate`, so

    $/Mtok (pods) = $/GPU-h / (3,600 s · r_gpu) · 10^6.

That is the pods' cost at full use of every GPU-hour; idle hours make it higher.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from megapod.physics.decode import work_rate
from megapod.planner.sizing import price_table, size_facility
from megapod.spec import Site
from megapod.spec.fleet import FleetWork
from megapod.units import HOUR_S, MEGA


@dataclass(frozen=True)
class PodTokenCost:
    """The pods' cost of the fleet's kind of work."""

    pod: str
    gpu: str
    gpus: int
    usd_per_gpu_h: float
    tokens_per_s_per_gpu: float
    bound: str
    usd_per_mtok: float
    prices: str

    @property
    def tokens_per_s(self) -> float:
        """Every GPU of the pods on the work [token/s]."""
        return self.gpus * self.tokens_per_s_per_gpu

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {**asdict(self), "tokens_per_s": self.tokens_per_s}


def pod_token_cost(site: Site, work: FleetWork, prices: str = "us-2025", years: float = 5.0) -> PodTokenCost:
    """Cost of a GPU-hour and of a million tokens of ``work`` on the site's first pod design
    (module docstring), from price table ``prices`` over a ``years`` TCO horizon."""
    pod = site.pods[0]
    gpu = pod.racks[0].server.gpu
    sized = size_facility(site, pod, pod.count, gpu.tdp_w, price_table(prices), years)
    rate = work_rate(work, gpu.peak(work.dtype), gpu.hbm_bw_bytes_per_s)
    usd_gpu_h = sized.cost_per_gpu_hour_usd
    return PodTokenCost(
        pod=pod.name,
        gpu=gpu.name,
        gpus=sized.gpus,
        usd_per_gpu_h=usd_gpu_h,
        tokens_per_s_per_gpu=rate.tokens_per_s,
        bound=rate.bound,
        usd_per_mtok=usd_gpu_h / (HOUR_S * rate.tokens_per_s) * MEGA,
        prices=prices,
    )
