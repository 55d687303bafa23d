"""Small scenarios for the twin's tests, built on the bundled pod."""

from __future__ import annotations

from pathlib import Path

from megapod.spec import load_site
from megapod.spec.scenario import Scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def small_scenario(
    queue: str = "fifo",
    placement: str = "consolidated",
    horizon_s: float = 7 * 86400.0,
    seed: int = 3,
    failures: bool = False,
    outage: str = "none",
    outage_at_s: float | None = None,
    outage_s: float = 3600.0,
    rate_per_s: float = 0.003,
    pretrain_gpus: int | None = None,
    jobs: int | None = None,
) -> Scenario:
    """The bundled 576-GPU pod under a Philly-shaped synthetic load."""
    site = load_site(EXAMPLES / "megapod.yaml")
    doc: dict[str, object] = {
        "name": "test",
        "site": site,
        "horizon_s": horizon_s,
        "seed": seed,
        "workload": {
            "synthetic": {
                "arrival_rate_per_s": rate_per_s,
                "jobs": jobs,
                "gpus": {
                    "kind": "discrete",
                    "values": [1, 2, 8, 16, 72, 144],
                    "weights": [50, 10, 20, 10, 6, 4],
                },
                "duration_s": {"kind": "lognormal", "median": 1800, "sigma": 1.2, "maximum": 86400},
                "queues": 3,
            },
            "pretraining": [{"name": "big", "gpus": pretrain_gpus, "work_s": 3 * 86400}]
            if pretrain_gpus
            else [],
        },
        "policies": {"queue": queue, "placement": placement, "outage": outage},
        "failures": {"enabled": failures},
        "grid": {
            "events": [{"start_s": outage_at_s, "duration_s": outage_s}] if outage_at_s is not None else []
        },
        "energy": {"price_usd_per_mwh": 50, "carbon_kg_per_mwh": 400},
        "output": {"resolution_s": 900},
    }
    return Scenario.model_validate(doc)
