"""The API fuzzed from its own OpenAPI document (schemathesis): a bounded number of generated
requests, valid and invalid, to every operation of the app on SQLite, as an admin; no answer
is a 5xx, and every answer conforms to the document (status code, content type, body schema)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.serve.conftest import ADMIN, settings_for

#: Generated requests per operation and mode (the whole file stays well under a minute).
EXAMPLES = 10
HEADERS = {"Authorization": f"Bearer {ADMIN}"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def fuzz_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The OpenAPI document of an app on a fresh SQLite file (its lifespan starts on first use)."""
    from megapod.serve import create_app

    db = Path(tmp_path_factory.mktemp("fuzz")) / "serve.db"
    app = create_app(settings_for(f"sqlite:///{db}", rate_per_s=1e6, rate_burst=10**8))
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    asgi.shutdown_lifespans()


def bounded(case: Any) -> Any:
    """Keep a case from ending the run: the fuzzer's own token stays, a stream stops."""
    own = case.method == "DELETE" and case.path == "/api/v1/tokens/{token_id}"
    if own and case.path_parameters and case.path_parameters.get("token_id") == 1:
        case.path_parameters["token_id"] = 2
    if case.path == "/api/v1/stream":
        case.query = {**(case.query or {}), "max_events": 2, "interval_s": 0.05}
    return case


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_every_operation_answers_generated_requests(fuzz_schema: Any, mode: GenerationMode) -> None:
    operations = [result.ok() for result in fuzz_schema.get_all_operations()]
    assert len(operations) >= 20
    fuzzed = 0
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def check(case: Any) -> None:
            bounded(case).call_and_validate(headers=HEADERS, checks=CHECKS)

        try:
            check()
        except Unsatisfiable:  # nothing to make invalid: an operation without parameters or body
            assert mode == GenerationMode.NEGATIVE
            continue
        except Exception as exc:
            raise AssertionError(f"{operation.method.upper()} {operation.path} ({mode}): {exc}") from exc
        fuzzed += 1
    assert fuzzed >= len(operations) // 2
