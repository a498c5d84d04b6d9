"""Deeply nested JSON is 400 invalid_json on every route that reads JSON, never a 500."""

import hashlib
import hmac
import time

import pytest
from django.conf import settings

from accounts.models import LedgerEntry, LoginFailure
from casinoclub.jsonparse import InvalidJSON, json_loads_limited, json_nesting_depth
from shop.models import WebhookEvent

LOGIN = "/api/auth/login"
SPIN = "/api/games/slot/spin"
TELEMETRY = "/api/telemetry/events"
WEBHOOK = "/api/shop/webhook/payment"


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def assert_invalid_json(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid_json",
            "message": "The JSON body is nested too deeply.",
            "details": {"max_depth": settings.JSON_MAX_DEPTH},
        }
    }


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("1", 0),
        ('{"a": [1, {"b": []}]}', 4),
        ('{"a": "[[[[[[[[{{{{"}', 1),
        ('["\\"[[[", "]"]', 1),
        (nested(40), 40),
        ('{"a": 1}]]]]', 1),
        ('["unterminated [[[', 1),
        ('["ends in a backslash \\', 1),
    ],
)
def test_nesting_depth_ignores_brackets_inside_strings(text, depth):
    assert json_nesting_depth(text) == depth


@pytest.mark.django_db
def test_login_with_a_deep_body_under_the_size_limit_is_invalid_json(api_client):
    # 30,000 levels: 60 KB, under the 64 KB upload limit, far past Python's recursion limit
    response = api_client.post(LOGIN, data=nested(30_000), content_type="application/json")

    assert_invalid_json(response)
    assert LoginFailure.objects.count() == 0


@pytest.mark.django_db
def test_login_with_a_100k_deep_body_is_a_400_not_a_500(api_client):
    response = api_client.post(LOGIN, data=nested(100_000), content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"invalid_json", "request_too_large"}
    assert LoginFailure.objects.count() == 0


@pytest.mark.django_db
def test_one_level_past_the_limit_is_refused_and_the_limit_itself_is_parsed(api_client):
    limit = settings.JSON_MAX_DEPTH
    too_deep = '{"site_id": ' + nested(limit) + "}"  # object + arrays: limit + 1 levels
    at_limit = '{"site_id": ' + nested(limit - 1) + "}"

    refused = api_client.post(LOGIN, data=too_deep, content_type="application/json")
    parsed = api_client.post(LOGIN, data=at_limit, content_type="application/json")

    assert_invalid_json(refused)
    assert parsed.status_code == 400
    assert parsed.json()["error"]["code"] == "validation_error"


@pytest.mark.django_db
def test_a_game_route_with_a_deep_body_is_invalid_json(player, player_client):
    response = player_client.post(SPIN, data=nested(30_000), content_type="application/json")

    assert_invalid_json(response)
    assert LedgerEntry.objects.filter(wallet_id=player.pk, reason="game_bet").count() == 0


@pytest.mark.django_db
def test_telemetry_with_a_deep_body_is_invalid_json(
    player_client, django_capture_on_commit_callbacks
):
    body = '{"events": [{"name": "app.open", "ts": "2026-01-01T00:00:00Z", "props": {"a": '
    body += nested(15_000) + "}}]}"  # 30 KB: under the 32 KB telemetry limit

    with django_capture_on_commit_callbacks() as callbacks:
        response = player_client.post(TELEMETRY, data=body, content_type="application/json")

    assert_invalid_json(response)
    assert callbacks == []


def signed(body: bytes) -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), "deep-json-nonce"
    key = settings.PAYMENT_WEBHOOK_SECRET.encode()
    signature = hmac.new(key, f"{timestamp}.{nonce}.".encode() + body, hashlib.sha256).hexdigest()
    return {
        "HTTP_X_WEBHOOK_TIMESTAMP": timestamp,
        "HTTP_X_WEBHOOK_NONCE": nonce,
        "HTTP_X_WEBHOOK_SIGNATURE": signature,
    }


@pytest.mark.django_db
def test_a_signed_webhook_with_a_deep_body_is_invalid_json(api_client):
    body = nested(30_000).encode()

    response = api_client.post(WEBHOOK, body, content_type="application/json", **signed(body))

    assert_invalid_json(response)
    assert WebhookEvent.objects.count() == 0


@pytest.mark.django_db
def test_a_signed_webhook_with_a_100k_deep_body_is_a_400_not_a_500(api_client):
    body = nested(100_000).encode()

    response = api_client.post(WEBHOOK, body, content_type="application/json", **signed(body))

    assert response.status_code == 400
    assert WebhookEvent.objects.count() == 0


@pytest.mark.django_db
def test_a_stripe_webhook_with_a_deep_body_is_invalid_json(api_client, settings):
    settings.STRIPE_WEBHOOK_SECRET = "whsec_depth"
    body = nested(30_000).encode()

    response = api_client.post(
        "/api/shop/webhook/stripe", body, content_type="application/json",
        HTTP_STRIPE_SIGNATURE="t=1,v1=0",
    )  # fmt: skip

    assert_invalid_json(response)
    assert WebhookEvent.objects.count() == 0


def test_json_loads_limited_refuses_deep_text_and_keeps_value_errors_for_garbage():
    with pytest.raises(InvalidJSON):
        json_loads_limited(nested(100_000))
    with pytest.raises(ValueError, match="Expecting value"):
        json_loads_limited("not json")
    assert json_loads_limited(b'{"type": "ping"}') == {"type": "ping"}


@pytest.mark.django_db
def test_a_body_of_escaped_quotes_is_measured_in_linear_time(api_client):
    # ["\"\"\"… never closes its string: a scanner that looks for the closing quote from every
    # quote is quadratic (about 30 s for this 60 KB body); this one reads it once.
    body = '["' + '\\"' * 30_000

    started = time.monotonic()
    response = api_client.post(LOGIN, data=body, content_type="application/json")
    elapsed = time.monotonic() - started

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"
    assert elapsed < 5  # generous: a regression is two orders of magnitude slower
    assert LoginFailure.objects.count() == 0
