"""The token cache: a looked-up token is trusted for its TTL only, and a revocation ends it at once."""

from __future__ import annotations

from tests.serve.conftest import Api

from megapod.serve.auth import Principal, TokenCache


def test_entries_expire_after_the_ttl_and_clear_forgets_all() -> None:
    now = [100.0]
    cache = TokenCache(ttl_s=5.0, max_entries=3, clock=lambda: now[0])
    who = Principal(token_id=7, name="a", role="viewer")
    cache.put("d1", who)
    assert cache.get("d1") == who and cache.get("d2") is None
    now[0] += 4.999
    assert cache.get("d1") == who
    now[0] += 0.002
    assert cache.get("d1") is None  # expired: looked up again
    for k in ("a", "b", "c", "d"):  # over max_entries: the cache starts again rather than grow
        cache.put(k, who)
    assert len(cache._held) <= 3 and cache.get("d") == who
    cache.clear()
    assert cache.get("d") is None


def test_revocation_is_refused_at_once_despite_the_cache(api: Api) -> None:
    c = api.client
    r = c.post("/api/v1/tokens", json={"name": "short", "role": "viewer"}, headers=api.admin)
    made = r.json()
    h = {"Authorization": f"Bearer {made['token']}"}
    assert c.get("/api/v1/site/state", headers=h).status_code == 200  # now in the cache
    assert c.get("/api/v1/jobs", headers=h).status_code == 200
    assert c.delete(f"/api/v1/tokens/{made['id']}", headers=api.admin).status_code == 204
    for path in ("/api/v1/site/state", "/api/v1/jobs", "/api/v1/stream?max_events=1"):
        refused = c.get(path, headers=h)
        assert refused.status_code == 401 and "revoked" in refused.json()["detail"], path
