"""Schema fuzzing: every operation of ``/api/schema/`` called in-process with generated data.

The schema is loaded from the running application's ``/api/schema/`` (not the committed file) and
every operation is called through the real WSGI stack on the test database, first as an anonymous
caller, then as a player logged in through ``POST /api/auth/login``. Each response must not be a
5xx and must match the schema: documented status code, content type, headers and body
(``docs/decisions/0070-error-responses-in-the-schema.md``). The run is bounded and deterministic:
a few examples per operation, derandomized, so CI sees the same cases every time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.test import Client as WerkzeugClient

from accounts.tests.factories import PASSWORD
from games.tests.factories import funded_player

MAX_EXAMPLES = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# The fixtures hold for every example of an operation on purpose: one player, one transaction.
FUZZ_SETTINGS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Calls that end the fuzzing player's login; the player logs in again after each of them.
LOGIN_ENDING_PATHS = {"/api/auth/logout-all"}


@pytest.fixture
def in_test_transaction(db: Any) -> Iterator[None]:
    """Requests through the real WSGI handler, inside the test's transaction.

    A real request closes "old" database connections when it starts and ends; inside the test's
    transaction that would close the transaction itself. Django's test client disconnects the
    same receiver around each request; here it is disconnected for the test.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


# Loaded once at collection from the application's own /api/schema/ (an anonymous GET that reads
# no table); the operations are then called at test time on the test database.
WSGI_APPLICATION = WSGIHandler()
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/",
    WSGI_APPLICATION,
    config=schemathesis.Config.from_dict(
        {
            "seed": 20240101,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "mode": "all"},
        }
    ),
)


class LoggedInPlayer:
    """A funded player with an access token from a real login; logs in again when asked."""

    def __init__(self) -> None:
        self.user = funded_player(gold=1_000_000)
        self.access = ""
        self.log_in()

    def log_in(self) -> None:
        # Through the same WSGI stack as the fuzzed calls (Django's test client would reconnect
        # the receiver that in_test_transaction disconnected).
        response = WerkzeugClient(WSGI_APPLICATION).post(
            "/api/auth/login", json={"site_id": self.user.site_id, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        self.access = response.json["access"]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}


@pytest.fixture
def logged_in_player(in_test_transaction: None) -> LoggedInPlayer:
    return LoggedInPlayer()


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_as_an_anonymous_caller(case: Any, in_test_transaction: None) -> None:
    case.call_and_validate(checks=CHECKS)


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_as_a_logged_in_player(
    case: Any, in_test_transaction: None, logged_in_player: LoggedInPlayer
) -> None:
    case.call_and_validate(headers=logged_in_player.headers, checks=CHECKS)
    if case.path in LOGIN_ENDING_PATHS:
        logged_in_player.log_in()
