"""What a control-plane server is started with."""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from megapod.errors import SpecError

#: Database used when none is given: an SQLite file in the working folder.
DEFAULT_DB_URL = "sqlite:///megapod-serve.db"
#: Largest request body the API reads [bytes].
MAX_BODY_BYTES = 1_000_000

BackendName = Literal["twin", "local"]


@dataclass(frozen=True)
class Settings:
    """Options of ``megapod serve``.

    Attributes:
        site: site spec file (YAML/JSON) the server runs.
        db_url: SQLAlchemy URL of the database (``sqlite:///FILE``, ``postgresql+psycopg://…``).
        backend: ``twin`` (the site simulated in real time) or ``local`` (this machine, jobs on Ray).
        scenario: scenario file for the twin instead of the default one (its site replaces ``site``).
        ray_address: Ray cluster to join; ``None`` starts a local Ray (``local`` backend only).
        ray_num_cpus: CPUs the local Ray may use when the server starts it.
        host, port: where to listen (loopback by default).
        speed: simulated seconds per wall second on the twin.
        tick_s: how often the backend is stepped [wall s].
        telemetry_every_s: cadence of the telemetry rollups written to the database [wall s].
        stream_interval_s: default interval of the live-state stream [wall s].
        initial_admin_token: token to create as the first admin on an empty database
            (a random one is made and printed when unset).
        log_tokens: print a created first-admin token on stderr.
        rate_per_s, rate_burst: requests a second each token may make, and its burst.
        checkpoint_dir: folder of the jobs' checkpoint folders on ``local`` (each job's is
            ``MEGAPOD_CHECKPOINT_DIR`` to its ranks and survives preemption and restarts).
        max_restarts: restarts a ``local`` job gets after losing a rank before it fails.
        sweep_dir: folder of the sweep files clients may run by name (``None``: the
            ``sweeps`` folder beside the site file, when there is one).
        sweep_out_dir: folder of the sweeps' results, one folder a sweep.
        insecure_local: auth off, every request acting as an admin named ``local`` (a demo
            mode; refused unless ``host`` is a loopback address).
    """

    site: Path
    db_url: str = DEFAULT_DB_URL
    backend: BackendName = "twin"
    scenario: Path | None = None
    ray_address: str | None = None
    ray_num_cpus: int = 2
    host: str = "127.0.0.1"
    port: int = 8000
    speed: float = 1.0
    tick_s: float = 0.1
    telemetry_every_s: float = 5.0
    stream_interval_s: float = 1.0
    initial_admin_token: str | None = field(default=None, repr=False)
    log_tokens: bool = True
    rate_per_s: float = 500.0
    rate_burst: int = 2000
    checkpoint_dir: Path = Path("megapod-checkpoints")
    max_restarts: int = 3
    sweep_dir: Path | None = None
    sweep_out_dir: Path = Path("megapod-sweeps")
    insecure_local: bool = False

    def __post_init__(self) -> None:
        if self.sweep_dir is None and (self.site.parent / "sweeps").is_dir():
            object.__setattr__(self, "sweep_dir", self.site.parent / "sweeps")
        if self.backend not in ("twin", "local"):
            raise SpecError("backend", f"{self.backend!r} is not a backend; use twin or local")
        for name in ("speed", "tick_s", "telemetry_every_s", "stream_interval_s", "rate_per_s"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise SpecError(name, f"{value!r} must be a finite number above 0")
        if self.speed > 1e7:
            raise SpecError("speed", f"{self.speed:g} is above the limit of 1e7 simulated s per s")
        if not 0 < self.port < 65536:
            raise SpecError("port", f"{self.port} must be between 1 and 65535")
        if not 1 <= self.rate_burst <= 10**9:
            raise SpecError("rate_burst", f"{self.rate_burst} must be between 1 and 1e9")
        if not 1 <= self.ray_num_cpus <= 4096:
            raise SpecError("ray_num_cpus", f"{self.ray_num_cpus} must be between 1 and 4096")
        if not 0 <= self.max_restarts <= 1000:
            raise SpecError("max_restarts", f"{self.max_restarts} must be between 0 and 1000")
        if self.insecure_local and not self.loopback:
            raise SpecError(
                "--insecure-local",
                f"auth is off, so loopback only; --host {self.host} is not a loopback address",
            )

    @property
    def loopback(self) -> bool:
        """Whether the server listens on the loopback interface only."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False
