"""Tokens and roles: 401 without a valid token, 403 for a role too low, cookie sessions."""

from __future__ import annotations

import pytest
from tests.serve.conftest import Api

JOB = {"idempotency_key": "auth-1", "gpus": 1, "work_s": 10.0}


def test_no_token_or_a_bad_token_is_401(api: Api) -> None:
    c = api.client
    for headers in ({}, {"Authorization": "Bearer nope-not-a-token"}, {"Authorization": "Basic abc"}):
        r = c.get("/api/v1/site/state", headers=headers)
        assert r.status_code == 401, headers
        assert r.json()["detail"].startswith("authorization:")
    assert c.get("/healthz").status_code == 200


def test_viewer_reads_but_cannot_act(api: Api) -> None:
    c, v = api.client, api.viewer
    for path in ("/api/v1/site", "/api/v1/jobs", "/api/v1/events", "/api/v1/audit", "/api/v1/power"):
        assert c.get(path, headers=v).status_code == 200, path
    before = c.get("/api/v1/audit", headers=api.admin).json()["items"]
    r = c.post("/api/v1/jobs", json=JOB, headers=v)
    assert r.status_code == 403 and "viewer" in r.json()["detail"]
    assert c.put("/api/v1/power/cap", json={"gpu_cap_w": 500.0}, headers=v).status_code == 403
    assert c.put("/api/v1/power/settings", json={"grid_limit_w": 1e6}, headers=v).status_code == 403
    job = c.post("/api/v1/jobs", json=JOB, headers=api.operator).json()
    assert c.post(f"/api/v1/jobs/{job['id']}/cancel", headers=v).status_code == 403
    assert c.get("/api/v1/jobs", headers=v).json()["total"] == 1
    after = c.get("/api/v1/audit", headers=api.admin).json()["items"]
    assert [a["action"] for a in after[len(before) :]] == ["job.submit"]  # the refusals wrote nothing


def test_only_admin_manages_tokens(api: Api) -> None:
    c = api.client
    for who in (api.viewer, api.operator):
        assert c.get("/api/v1/tokens", headers=who).status_code == 403
        assert c.post("/api/v1/tokens", json={"name": "x", "role": "admin"}, headers=who).status_code == 403
    made = c.post("/api/v1/tokens", json={"name": "carol", "role": "viewer"}, headers=api.admin).json()
    assert made["token"].startswith("mpt_")
    listed = c.get("/api/v1/tokens", headers=api.admin).json()["items"]
    assert "token" not in listed[0] and {t["name"] for t in listed} >= {"admin", "carol"}
    h = {"Authorization": f"Bearer {made['token']}"}
    assert c.get("/api/v1/session", headers=h).json() == {"name": "carol", "role": "viewer"}
    assert c.delete(f"/api/v1/tokens/{made['id']}", headers=api.admin).status_code == 204
    assert c.get("/api/v1/session", headers=h).status_code == 401


def test_cookie_session(api: Api) -> None:
    c = api.client
    token = api.token("operator")
    assert c.post("/api/v1/session", json={"token": "wrong-token-xxxxxxxx"}).status_code == 401
    r = c.post("/api/v1/session", json={"token": token})
    assert r.status_code == 200 and r.json()["role"] == "operator"
    cookie = r.headers["set-cookie"]
    assert "megapod_token=" in cookie and "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert c.get("/api/v1/session").json()["role"] == "operator"  # the client keeps the cookie
    assert c.post("/api/v1/jobs", json=JOB).status_code == 201
    c.delete("/api/v1/session")
    c.cookies.clear()
    assert c.get("/api/v1/session").status_code == 401


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_cli_creates_a_token(db_url: str, cli: object) -> None:
    code, out, err = cli("serve", "token", "create", "--role", "operator", "--name", "ops", "--db", db_url)  # type: ignore[operator]
    assert code == 0, err
    token = out.strip()
    assert token.startswith("mpt_")
    from megapod.serve import auth
    from megapod.serve.store import Database

    db = Database(db_url)
    with db.session() as s:
        who = auth.lookup(s, token)
    db.dispose()
    assert who is not None and who.role == "operator" and who.name == "ops"
    code, _, err = cli("serve", "token", "create", "--role", "root", "--name", "x", "--db", db_url)  # type: ignore[operator]
    assert code == 2 and "role" in err


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_rate_limit_per_token(start_api: object, db_url: str) -> None:
    api = start_api(db_url, rate_per_s=0.5, rate_burst=6)  # type: ignore[operator]
    c = api.client  # three tokens were used once each to set up; the admin token made them
    answers = [c.get("/api/v1/session", headers=api.viewer).status_code for _ in range(8)]
    assert answers[:5] == [200] * 5 and answers[-1] == 429
    r = c.get("/api/v1/session", headers=api.viewer)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1 and "rate" in r.json()["detail"]
    assert c.get("/api/v1/session", headers=api.operator).status_code == 200  # each token its own bucket


def test_bucket_refills() -> None:
    from megapod.serve.ratelimit import RateLimiter

    now = [0.0]
    rl = RateLimiter(2.0, 2, clock=lambda: now[0])
    assert [rl.take(1), rl.take(1)] == [0.0, 0.0]
    assert rl.take(1) == pytest.approx(0.5)
    now[0] = 0.5
    assert rl.take(1) == 0.0
