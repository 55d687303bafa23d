"""Bad input is a 4xx with a JSON detail, never a 500, and writes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from tests.serve.conftest import Api

from megapod.serve.api.schemas import JobCreate
from megapod.serve.store.models import AuditEntry, Job

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
FIELDS = sorted(JobCreate.model_fields)
bodies = (
    st.dictionaries(st.sampled_from([*FIELDS, "bogus", "gpu_cap_w"]), json_values, max_size=6) | json_values
)

PATHS = [
    ("POST", "/api/v1/jobs"),
    ("PUT", "/api/v1/power/cap"),
    ("PUT", "/api/v1/power/settings"),
    ("POST", "/api/v1/tokens"),
    ("POST", "/api/v1/session"),
]


def is_valid_job(body: Any) -> bool:
    from pydantic import ValidationError

    from megapod.serve.api.schemas import JobCreate

    try:
        job = JobCreate.model_validate(body)
    except ValidationError:
        return False
    return job.work_s is not None and job.gpus <= 576 and job.partition is None and job.command is None


def count(api: Api, model: Any) -> int:
    with api.plane.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_fuzzed_bodies_are_4xx(api: Api) -> None:
    c = api.client

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(path=st.sampled_from(PATHS), body=bodies)
    def check(path: tuple[str, str], body: Any) -> None:
        method, url = path
        if url == "/api/v1/jobs" and is_valid_job(body):
            return
        jobs_before = count(api, Job)
        r = c.request(
            method, url, content=json.dumps(body), headers={**api.admin, "content-type": "application/json"}
        )
        if url == "/api/v1/power/cap" and r.status_code == 200:  # a valid cap is a valid action
            return
        if url in ("/api/v1/tokens", "/api/v1/session") and r.status_code in (200, 201):
            return
        assert 400 <= r.status_code < 500, (url, body, r.status_code, r.text)
        assert isinstance(r.json()["detail"], str) and r.json()["detail"]
        assert count(api, Job) == jobs_before

    check()


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"{not json", 400, "malformed JSON"),
        (b'{"idempotency_key": "k", "gpus": "8", "work_s": 1.0}', 422, "gpus = '8'"),
        (b'{"idempotency_key": "k", "gpus": 0, "work_s": 1.0}', 422, "gpus = 0"),
        (b'{"idempotency_key": "k", "gpus": 1, "work_s": -1}', 422, "work_s = -1"),
        (b'{"idempotency_key": "k", "gpus": 1, "work_s": 1e300}', 422, "work_s"),
        (b'{"idempotency_key": "k", "gpus": 1, "work_s": 1.0, "shell": "rm"}', 422, "shell: unknown field"),
        (b'{"gpus": 1, "work_s": 1.0}', 422, "idempotency_key: required"),
        (b'{"idempotency_key": "k", "gpus": 1, "work_s": 1.0, "partition": "nope"}', 422, "partition"),
        (b"[1, 2]", 422, "body"),
    ],
)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_bad_job_bodies_name_the_field(api: Api, body: bytes, status: int, words: str) -> None:
    r = api.client.post(
        "/api/v1/jobs", content=body, headers={**api.operator, "content-type": "application/json"}
    )
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]
    assert count(api, Job) == 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_huge_bodies_and_bad_queries(api: Api) -> None:
    c = api.client
    audits = count(api, AuditEntry)
    big = b'{"idempotency_key": "' + b"x" * 2_000_000 + b'"}'
    r = c.post("/api/v1/jobs", content=big, headers={**api.operator, "content-type": "application/json"})
    assert r.status_code == 413 and "limit" in r.json()["detail"]
    for url in (
        "/api/v1/jobs?limit=0",
        "/api/v1/jobs?limit=abc",
        "/api/v1/jobs?state=bogus",
        "/api/v1/events?since_id=-1",
        "/api/v1/telemetry?limit=99999999",
        "/api/v1/nodes?offset=-5",
    ):
        r = c.get(url, headers=api.viewer)
        assert r.status_code == 422, url
        assert "detail" in r.json()
    assert c.get("/api/v1/jobs/j-missing", headers=api.viewer).status_code == 404
    assert c.get("/api/v1/pods/none", headers=api.viewer).status_code == 404
    assert c.delete("/api/v1/tokens/999", headers=api.admin).status_code == 404
    assert c.delete("/api/v1/tokens/abc", headers=api.admin).status_code == 422
    assert count(api, AuditEntry) == audits


def test_nul_characters_are_refused(api: Api) -> None:
    c = api.client
    body = {"idempotency_key": "k\x00", "gpus": 1, "work_s": 1.0}
    r = c.post("/api/v1/jobs", json=body, headers=api.operator)
    assert r.status_code == 422 and "NUL" in r.json()["detail"]
    r = c.post(
        "/api/v1/jobs", json={**body, "idempotency_key": "k", "args": [{"a": "\x00"}]}, headers=api.operator
    )
    assert r.status_code == 422 and "args[0].a" in r.json()["detail"]
    for url in (
        "/api/v1/jobs/j-%00",
        "/api/v1/jobs?name=a%00b",
        "/api/v1/events?kind=%00",
        "/api/v1/pods/%00",
    ):
        assert 400 <= c.get(url, headers=api.viewer).status_code < 500, url
    assert count(api, Job) == 0
