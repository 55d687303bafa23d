"""Power: the site's budget, the GPU cap and the battery and grid settings (operator actions)."""

from __future__ import annotations

from typing import Any

from megapod.serve.auth import Principal
from megapod.serve.backends.base import BackendEvent
from megapod.serve.plane import ControlPlane, put_setting
from megapod.serve.services.audit import audit


def power_view(plane: ControlPlane) -> dict[str, Any]:
    """Budget, settings, requested and enforced cap, present power."""
    p = plane.power_settings()
    with plane.lock:
        st = plane.backend.state()
    return {
        "budget_w": plane.budget_w(p),
        "feed_w": float(plane.site.grid.feed_w),
        "grid_limit_w": p["grid_limit_w"],
        "battery_reserve_soc": p["battery_reserve_soc"],
        "gpu_cap_w_requested": p["gpu_cap_w"],
        "gpu_cap_w_enforced": st.get("gpu_cap_w"),
        "it_power_w": st.get("it_power_w"),
        "facility_power_w": st.get("facility_power_w"),
        "grid_import_w": st.get("grid_import_w"),
        "backend": plane.backend.name,
    }


def set_cap(plane: ControlPlane, who: Principal, cap_w: float | None) -> dict[str, Any]:
    """Set (or lift) the per-GPU power cap; the enforced value is read back from the backend."""
    with plane.lock:
        before = plane.power_settings()["gpu_cap_w"]
        enforced = plane.backend.set_gpu_cap(cap_w)  # BackendConflict: nothing written
        with plane.db.session() as s:
            put_setting(s, "power.gpu_cap_w", cap_w)
            audit(s, who, "power.cap", "site", gpu_cap_w=cap_w, previous_w=before, enforced_w=enforced)
    shown = "lifted" if cap_w is None else f"set to {cap_w:g} W"
    read_back = "none" if enforced is None else f"{enforced:g} W"
    plane.record_event(
        BackendEvent(
            "operator_action",
            f"GPU power cap {shown} by {who.name} (enforced: {read_back})",
            "info",
            plane.backend.clock_s(),
            {"action": "power.cap", "by": who.name, "gpu_cap_w": cap_w, "enforced_w": enforced},
        )
    )
    plane.changed_power()
    return power_view(plane)


def set_settings(plane: ControlPlane, who: Principal, changes: dict[str, Any]) -> dict[str, Any]:
    """Change the battery reserve and/or the grid limit: the backend applies them first (the
    twin acts on them; a refusal writes nothing), then they are stored and audited."""
    with plane.lock:
        if "grid_limit_w" in changes:
            plane.backend.set_grid_limit(changes["grid_limit_w"])
        if "battery_reserve_soc" in changes:
            plane.backend.set_battery_reserve(changes["battery_reserve_soc"])
        with plane.db.session() as s:
            for key, value in changes.items():
                put_setting(s, f"power.{key}", value)
            audit(s, who, "power.settings", "site", **changes)
    shown = ", ".join(f"{k} = {v}" for k, v in changes.items())
    plane.record_event(
        BackendEvent(
            "operator_action",
            f"power settings changed by {who.name}: {shown}",
            "info",
            plane.backend.clock_s(),
            {"action": "power.settings", "by": who.name, **changes},
        )
    )
    plane.changed_power()
    return power_view(plane)
