"""No request makes the server read a file it was not configured with: the API takes no path
and no spec or scenario document, and a job's text fields naming files are stored as text,
never opened; no answer carries a file's content."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.serve.conftest import Api
from tests.serve.helpers import wait_for

#: Paths opened while :data:`_WATCH` holds a folder under watch (an audit hook sees every open).
_OPENED: list[str] = []
_WATCH: list[str] = []


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if _WATCH and event in ("open", "os.listdir", "os.scandir") and args and isinstance(args[0], str | Path):
        path = os.path.abspath(os.fspath(args[0]))
        if any(path.startswith(w) for w in _WATCH):
            _OPENED.append(path)


sys.addaudithook(_hook)  # hooks cannot be removed: this one does nothing unless _WATCH is set


@pytest.fixture
def secret(tmp_path: Path) -> Iterator[Path]:
    """A file outside the server's data, watched for any open while the test runs."""
    folder = tmp_path / "outside"
    folder.mkdir()
    path = folder / "secret.yaml"
    path.write_text("site: {name: stolen-3f9c}\nSECRET_TOKEN_VALUE_7d1e\n")
    _OPENED.clear()
    _WATCH.append(str(folder))
    yield path
    _WATCH.clear()


#: The one input that names a file: a sweep file *by name*, one of the server's sweep folder
#: (tested below to be confined to it).
CONFINED = {("SweepCreate", "file")}


def test_openapi_has_no_path_or_document_input(api: Api) -> None:
    """Nothing in the document takes a file (but the confined sweep name): no parameter or
    field named for one, no upload."""
    doc = api.client.get("/openapi.json").json()
    words = ("path", "file", "dir", "spec", "scenario", "yaml", "url")
    params = [p["name"] for op in _operations(doc) for p in op.get("parameters", [])]
    assert not [n for n in params if any(w in n.lower() for w in words)], params
    fields = [
        (name, f)
        for name, schema in doc["components"]["schemas"].items()
        for f in schema.get("properties", {})
    ]
    named = {(n, f) for n, f in fields if any(w in f.lower() for w in ("path", "file", "dir", "yaml"))}
    assert named <= CONFINED, named
    kinds = {c for op in _operations(doc) for c in op.get("requestBody", {}).get("content", {})}
    assert kinds <= {"application/json"}, kinds


def _operations(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for item in doc["paths"].values():
        yield from (op for method, op in item.items() if method in ("get", "post", "put", "delete", "patch"))


def test_job_fields_naming_files_are_never_read(
    start_api: Callable[..., Api], sqlite_url: str, secret: Path
) -> None:
    api = start_api(sqlite_url)
    c, op = api.client, api.operator
    named = str(secret)
    relative = os.path.relpath(secret)
    bodies = [
        {"idempotency_key": named, "name": named, "gpus": 8, "work_s": 30.0, "command": ["cat", named]},
        {"idempotency_key": "k2", "gpus": 8, "work_s": 30.0, "command": [named], "args": [named]},
        {
            "idempotency_key": "k3",
            "gpus": 8,
            "work_s": 30.0,
            "entrypoint": f"{relative}:main",
            "args": [relative],
        },
        {"idempotency_key": "k4", "gpus": 8, "work_s": 30.0, "partition": named},
        {"idempotency_key": "k5", "gpus": 8, "work_s": 30.0, "queue": f"file://{named}"},
        {"idempotency_key": "k6", "gpus": 8, "work_s": 30.0, "name": "../" * 12 + named.lstrip("/")},
    ]
    answers = [c.post("/api/v1/jobs", json=b, headers=op) for b in bodies]
    accepted = [r.json()["id"] for r in answers if r.status_code == 201]
    sweeps = [  # a sweep file is named by name, one of the server's sweep folder's only
        c.post("/api/v1/sweeps", json={"file": f}, headers=op)
        for f in (secret.name, named, relative, "../outside/" + secret.name, "..", ".")
    ]
    assert all(r.status_code == 422 for r in sweeps), [r.text for r in sweeps]
    assert accepted, [r.text for r in answers]
    assert all(r.status_code < 500 for r in answers), [r.text for r in answers]

    def seen(job_id: str) -> bool:
        return bool(c.get(f"/api/v1/jobs/{job_id}", headers=op).json()["state"] != "pending")

    for job_id in accepted:
        wait_for(functools.partial(seen, job_id))
    reads = [
        c.get(f"/api/v1/jobs/{j}", headers=op) for j in accepted
    ] + [
        c.get(f"/api/v1/jobs/{j}/logs", headers=op) for j in accepted
    ] + [
        c.get("/api/v1/jobs", headers=op, params={"name": named}),
        c.get(f"/api/v1/pods/{'..%2F' * 8}etc%2Fpasswd", headers=op),
        c.get("/api/v1/nodes", headers=op, params={"pod": named}),
        c.get("/api/v1/telemetry", headers=op, params={"scope": named}),
        c.get("/api/v1/events", headers=op, params={"kind": named}),
        c.get("/api/v1/jobs/" + "..%2F" * 8 + "etc%2Fpasswd", headers=op),
        c.get("/" + "../" * 8 + named.lstrip("/")),
        c.get("/static/" + "..%2F" * 8 + named.lstrip("/")),
    ]  # fmt: skip
    _WATCH.clear()
    content = secret.read_text()  # read by the test itself, after the watch
    assert _OPENED == [], "the server opened a file a request named"
    for r in [*answers, *sweeps, *reads]:
        assert r.status_code < 500, r.text
        assert "stolen-3f9c" not in r.text and "SECRET_TOKEN_VALUE_7d1e" not in r.text
        assert content not in r.text
    stored = c.get(f"/api/v1/jobs/{accepted[0]}", headers=op).json()
    assert stored["command"] == ["cat", named]  # kept as the text it was sent as, never resolved
