"""The fleet at a glance (the dashboard's panel): the site's fleet model and the coordinator."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.conftest import EXAMPLES
from tests.serve.conftest import Api
from tests.serve.fleet_helpers import batch, car, lease, owner, report, truth


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_summary_counts_cars_units_and_money(api: Api) -> None:
    empty = api.client.get("/api/v1/fleet/summary", headers=api.viewer).json()
    assert empty["enabled"] is False and empty["model"] is None and empty["vehicles"] == 0
    _, oh = owner(api, "ann")
    cars = [car(api, oh, f"car-{i}")[1] for i in range(2)]
    batch(api, units=1, validation={"replicas": 2, "quorum": 2}, economics={"price_usd_per_mtok": 1000.0})
    leased = [lease(api, h)["items"][0] for h in cars]
    mid = api.client.get("/api/v1/fleet/summary", headers=api.viewer).json()
    assert mid["enabled"] and mid["vehicles"] == 2 and mid["vehicles_reporting"] == 2
    assert mid["replicas_in_flight"] == 2 and mid["revenue_usd"] == 0
    for h, item in zip(cars, leased, strict=True):
        report(api, h, item["replica_id"], truth(item))
    done = api.client.get("/api/v1/fleet/summary", headers=api.viewer).json()
    assert done["units"] == {"accepted": 1} and done["replicas_in_flight"] == 0
    assert done["revenue_usd"] > 0
    assert done["revenue_usd"] == pytest.approx(done["owners_paid_usd"] + done["operator_usd"])


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_site_with_a_fleet_shows_the_share_of_cars_by_hour(
    start_api: Callable[..., Api], db_url: str
) -> None:
    api = start_api(db_url, site=EXAMPLES / "fleet.yaml")
    s = api.client.get("/api/v1/fleet/summary", headers=api.viewer).json()
    model = s["model"]
    assert s["enabled"] and model["vehicles"] == 50_000
    hours = model["availability_by_hour"]
    assert len(hours) == 24 and all(0 <= x <= 1 for x in hours)
    assert max(hours[0:6]) > min(hours[10:16])  # more cars home at night than at midday
