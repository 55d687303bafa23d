"""Power chain: stage efficiency interpolation, hand-calculated flow, energy balance property."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from megapod import catalog
from megapod.catalog.power import EfficiencyCurveEntry
from megapod.physics import power_chain as pc
from megapod.spec import PowerChain

FLAT = ((0.0, 0.95), (1.0, 0.95))


def test_stage_efficiency_interpolates_and_holds() -> None:
    pts = ((0.1, 0.90), (0.5, 0.96), (1.0, 0.91))  # 80 PLUS Titanium-like
    assert pc.stage_efficiency(pts, 0.3) == pytest.approx(0.93)
    assert pc.stage_efficiency(pts, 0.05) == pytest.approx(0.90)
    assert pc.stage_efficiency(pts, 1.5) == pytest.approx(0.91)


def test_flat_chain_hand_calculation() -> None:
    # PSU 95 %, PDU 98 %, UPS 96 %, transformer 99 %, COP 5, IT 1 MW:
    # component = 950 kW; PDU in = 1/0.98 = 1.020408 MW; UPS in = 1.062925 MW;
    # cooling = 1.062925/5 = 212.585 kW; transformer in = (1.062925+0.212585)/0.99 = 1.288394 MW
    curves = pc.ChainCurves(
        psu=FLAT, pdu=((0, 0.98), (1, 0.98)), ups=((0, 0.96), (1, 0.96)), transformer=((0, 0.99), (1, 0.99))
    )
    flow = pc.facility_power(1e6, 1e6, curves, 5.0)
    assert float(flow.component_w) == pytest.approx(950e3)
    ups_in = 1e6 / 0.98 / 0.96
    assert float(flow.cooling_w) == pytest.approx(ups_in / 5)
    assert float(flow.facility_w) == pytest.approx((ups_in * 1.2) / 0.99)
    assert float(flow.pue) == pytest.approx((ups_in * 1.2) / 0.99 / 1e6)


def _curve() -> st.SearchStrategy[tuple[tuple[float, float], ...]]:
    return st.lists(
        st.tuples(st.floats(0.01, 1.2), st.floats(0.5, 1.0)),
        min_size=1,
        max_size=5,
        unique_by=lambda p: round(p[0], 6),
    ).map(lambda pts: tuple(sorted(pts)))


@settings(max_examples=200, deadline=None)
@given(
    psu=_curve(),
    pdu=_curve(),
    ups=_curve(),
    xfmr=_curve(),
    it=st.lists(st.floats(0, 5e7), min_size=1, max_size=20),
    rated=st.floats(1e3, 5e7),
    cop=st.floats(0.5, 60),
)
def test_energy_balance_closes(psu, pdu, ups, xfmr, it, rated, cop) -> None:  # type: ignore[no-untyped-def]
    curves = pc.ChainCurves(psu, pdu, ups, xfmr)
    flow = pc.facility_power(np.array(it), rated, curves, cop)
    parts = (
        flow.component_w
        + flow.psu_loss_w
        + flow.pdu_loss_w
        + flow.ups_loss_w
        + flow.transformer_loss_w
        + flow.cooling_w
    )
    np.testing.assert_allclose(flow.facility_w, parts, rtol=1e-12, atol=1e-6)
    for loss in (flow.psu_loss_w, flow.pdu_loss_w, flow.ups_loss_w, flow.transformer_loss_w, flow.cooling_w):
        assert np.all(loss >= -1e-6)
    assert np.all(flow.facility_w >= np.array(it) - 1e-6)


@settings(max_examples=50, deadline=None)
@given(transformer=st.sampled_from(catalog.names("efficiency")), load=st.floats(0, 1.5))
def test_catalog_chains_balance(transformer: str, load: float) -> None:
    chain = PowerChain()
    curves = pc.ChainCurves.from_entries(chain)
    entry = catalog.get("efficiency", transformer)
    assert isinstance(entry, EfficiencyCurveEntry)
    curves = pc.ChainCurves(curves.psu, curves.pdu, curves.ups, tuple(entry.points))
    flow = pc.facility_power(load * 1e6, 1e6, curves, 4.0)
    assert float(flow.facility_w) == pytest.approx(
        float(flow.it_w + flow.electrical_loss_w + flow.cooling_w), rel=1e-12
    )
