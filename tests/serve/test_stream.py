"""The live state arrives as Server-Sent Events, more than once, with the clock moving."""

from __future__ import annotations

import json

from tests.serve.conftest import Api


def parse_sse(text: str) -> list[dict[str, object]]:
    events = []
    for block in text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if lines.get("event") == "state":
            events.append(json.loads(lines["data"]))
    return events


def test_stream_delivers_updates(api: Api) -> None:
    token = api.token("viewer")
    c = api.client
    c.post("/api/v1/session", json={"token": token})  # EventSource sends the cookie
    with c.stream("GET", "/api/v1/stream?interval_s=0.2&max_events=3") as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        states = parse_sse(r.read().decode())
    assert len(states) == 3
    assert states[-1]["t_s"] > states[0]["t_s"]  # type: ignore[operator]
    for key in ("gpus", "it_power_w", "battery_soc", "jobs_running", "budget_w", "last_event_id"):
        assert key in states[0]
    c.cookies.clear()
    assert c.get("/api/v1/stream?max_events=1").status_code == 401
