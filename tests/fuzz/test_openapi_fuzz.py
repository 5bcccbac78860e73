"""API fuzzing with schemathesis against the OpenAPI document of the running app.

The app runs as one real API process (uvicorn, its own thread and event loop, every
dependency real); schemathesis generates requests for every documented operation, with a
real user token, and checks: no 5xx, every error is problem+json, and responses match the
schema (status codes, content types, bodies). `make test` runs a bounded number of
examples per operation; `make fuzz` many more (TICKETING_FUZZ_EXAMPLES).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from ticketing.api.app import create_app
from ticketing.devtools.broker import free_port
from ticketing.domain.identity import Role
from ticketing.settings import Settings

EXAMPLES = int(os.environ.get("TICKETING_FUZZ_EXAMPLES", "15"))


class ApiThread:
    """One API process's worth of app on a loopback port, in a thread with its own loop."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.app = create_app(settings)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ApiThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive(), "the API exited while starting"
            assert time.monotonic() < deadline, "the API did not start within 30 s"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture(scope="module")
def running_api(base_settings: Settings) -> Iterator[ApiThread]:
    with ApiThread(
        base_settings.model_copy(update={"redis_key_prefix": base_settings.redis_key_prefix + "fuzz:"})
    ) as api:
        yield api


def check_operation(operation: schemathesis.APIOperation, api: ApiThread, token: str) -> None:
    @given(case=operation.as_strategy())
    @hypothesis_settings(
        max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
    )
    def answers_within_its_contract(case: schemathesis.Case) -> None:
        response = case.call(base_url=api.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        case.validate_response(
            response,
            checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
        )
        if response.status_code >= 400:
            assert response.headers["content-type"][0].startswith("application/problem+json"), response.text

    answers_within_its_contract()


def test_every_operation_answers_within_its_contract(running_api: ApiThread) -> None:
    schema = schemathesis.openapi.from_url(f"{running_api.url}/openapi.json")
    token = running_api.app.state.resources.access_tokens.issue("fuzzer", Role.USER)
    checked = []
    for found in schema.get_all_operations():
        operation = found.ok()
        check_operation(operation, running_api, token)
        checked.append(operation.label)
    assert len(checked) >= 15, checked
