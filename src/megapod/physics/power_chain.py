"""The facility power chain: from IT load through PSU, PDU, UPS and transformer, plus cooling.

Pure functions over floats or numpy arrays, SI units (watts, fractions).

Topology (one line per pod, the usual tiered design of The Green Grid White Paper #49 and
Schneider Electric White Paper 113 "Electrical efficiency modeling of data centers")::

    grid ─ transformer ─┬─ UPS ─ PDU ─ [PSU ─ components]   (IT path: "IT load" is PSU input)
                        └─ cooling plant                     (mechanical path, no UPS)

* Each stage's input is ``P_in = P_out / η(P_out / P_rated)`` with ``η`` its efficiency curve
  vs. load fraction (catalog ``efficiency.yaml``), interpolated linearly and held flat outside
  the tabulated points.
* "IT load" follows the PUE definition (The Green Grid WP#49; ISO/IEC 30134-2): power at the
  IT equipment input, so PSU losses are inside it and ``component_w = it_w · η_psu``.
* Heat the cooling plant removes = IT load + PDU loss + UPS loss (all dissipated inside the
  conditioned building; the MV transformer stands outdoors). Cooling power = heat / COP.
* Energy balance (closes by construction and is property-tested)::

    facility_w = component_w + psu_loss_w + pdu_loss_w + ups_loss_w + transformer_loss_w + cooling_w
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from megapod.catalog.power import EfficiencyCurveEntry

FloatArray = npt.NDArray[np.float64]
ArrayLike = float | npt.ArrayLike

#: Transformer rating over the IT rating when none is given: IT plus a design-day cooling
#: share of ~20 % (a PUE-1.2 design). Assumption, documented in docs/facility-model.md.
DEFAULT_TRANSFORMER_HEADROOM = 1.2


def stage_efficiency(points: Sequence[tuple[float, float]], load_fraction: ArrayLike) -> FloatArray:
    """Efficiency of a conversion stage at ``load_fraction`` of its rating (linear interpolation).

    ``points`` are ``(load_fraction, efficiency)`` pairs increasing in load; outside them the
    end values hold (``numpy.interp``).
    """
    loads = np.array([p[0] for p in points], dtype=np.float64)
    effs = np.array([p[1] for p in points], dtype=np.float64)
    x = np.asarray(load_fraction, dtype=np.float64)
    return np.asarray(np.interp(x, loads, effs), dtype=np.float64)


def stage_input_w(
    output_w: ArrayLike, rated_output_w: ArrayLike, points: Sequence[tuple[float, float]]
) -> FloatArray:
    """Input power of a stage delivering ``output_w`` [W]: ``P_out / η(P_out / P_rated)``."""
    out = np.asarray(output_w, dtype=np.float64)
    rated = np.asarray(rated_output_w, dtype=np.float64)
    eff = stage_efficiency(points, np.divide(out, rated, out=np.zeros_like(out * rated), where=rated > 0))
    return np.asarray(out / eff, dtype=np.float64)


class _ChainSpec(Protocol):
    @property
    def psu(self) -> EfficiencyCurveEntry: ...
    @property
    def pdu(self) -> EfficiencyCurveEntry: ...
    @property
    def ups(self) -> EfficiencyCurveEntry: ...
    @property
    def transformer(self) -> EfficiencyCurveEntry: ...


@dataclass(frozen=True)
class ChainCurves:
    """The four efficiency curves of a power chain, as ``(load_fraction, efficiency)`` points."""

    psu: tuple[tuple[float, float], ...]
    pdu: tuple[tuple[float, float], ...]
    ups: tuple[tuple[float, float], ...]
    transformer: tuple[tuple[float, float], ...]

    @classmethod
    def from_entries(cls, chain: _ChainSpec) -> ChainCurves:
        """Curves from anything holding catalog entries ``psu, pdu, ups, transformer``
        (e.g. a spec ``PowerChain``)."""
        return cls(
            psu=tuple(chain.psu.points),
            pdu=tuple(chain.pdu.points),
            ups=tuple(chain.ups.points),
            transformer=tuple(chain.transformer.points),
        )


@dataclass(frozen=True)
class PowerFlow:
    """Where the facility's power goes [W]; arrays or floats of one shape."""

    component_w: FloatArray
    psu_loss_w: FloatArray
    pdu_loss_w: FloatArray
    ups_loss_w: FloatArray
    transformer_loss_w: FloatArray
    cooling_w: FloatArray
    facility_w: FloatArray

    @property
    def it_w(self) -> FloatArray:
        """IT load at the IT equipment input (PSU input) [W]."""
        return np.asarray(self.component_w + self.psu_loss_w, dtype=np.float64)

    @property
    def electrical_loss_w(self) -> FloatArray:
        """PDU + UPS + transformer losses [W] (PSU losses are part of the IT load)."""
        return np.asarray(self.pdu_loss_w + self.ups_loss_w + self.transformer_loss_w, dtype=np.float64)

    @property
    def pue(self) -> FloatArray:
        """Power usage effectiveness, facility / IT (The Green Grid WP#49)."""
        it = self.it_w
        return np.asarray(
            np.divide(self.facility_w, it, out=np.ones_like(it), where=it > 0), dtype=np.float64
        )


def facility_power(
    it_w: ArrayLike,
    rated_it_w: float,
    curves: ChainCurves,
    cooling_cop: ArrayLike,
    rated_transformer_w: float | None = None,
) -> PowerFlow:
    """Facility input power for an IT load, with every loss and the cooling power.

    Args:
        it_w: IT load at the IT equipment (PSU) input [W], scalar or array.
        rated_it_w: rating of the IT path (PSUs, PDUs, UPS sized to the IT peak) [W].
        curves: the chain's efficiency curves.
        cooling_cop: whole-plant coefficient of performance (heat removed / electric power),
            scalar or array broadcast against ``it_w``; see :mod:`megapod.physics.thermal`.
        rated_transformer_w: transformer rating [W]; default ``1.2 · rated_it_w``.

    Returns:
        the :class:`PowerFlow`; ``facility_w`` is the sum of the component load, every loss
        and the cooling power.
    """
    it = np.asarray(it_w, dtype=np.float64)
    cop = np.asarray(cooling_cop, dtype=np.float64)
    if np.any(cop <= 0):
        raise ValueError("cooling COP must be > 0")
    psu_eff = stage_efficiency(curves.psu, it / rated_it_w if rated_it_w > 0 else it * 0.0)
    component = it * psu_eff
    pdu_in = stage_input_w(it, rated_it_w, curves.pdu)
    ups_in = stage_input_w(pdu_in, rated_it_w, curves.ups)
    cooling = ups_in / cop
    xfmr_out = ups_in + cooling
    xfmr_rated = (
        rated_transformer_w
        if rated_transformer_w is not None
        else (DEFAULT_TRANSFORMER_HEADROOM * rated_it_w)
    )
    facility = stage_input_w(xfmr_out, xfmr_rated, curves.transformer)
    return PowerFlow(
        component_w=np.asarray(component, dtype=np.float64),
        psu_loss_w=np.asarray(it - component, dtype=np.float64),
        pdu_loss_w=np.asarray(pdu_in - it, dtype=np.float64),
        ups_loss_w=np.asarray(ups_in - pdu_in, dtype=np.float64),
        transformer_loss_w=np.asarray(facility - xfmr_out, dtype=np.float64),
        cooling_w=np.asarray(cooling * np.ones_like(it), dtype=np.float64),
        facility_w=np.asarray(facility, dtype=np.float64),
    )


def heat_load_w(flow: PowerFlow) -> FloatArray:
    """Heat the cooling plant removes [W]: IT load + PDU and UPS losses."""
    return np.asarray(flow.it_w + flow.pdu_loss_w + flow.ups_loss_w, dtype=np.float64)
