"""The committed schema states the rules the server enforces (docs/decisions/0161, 0162).

Each assertion is a request the schema used to allow and the server refused (or the reverse):
the schema now says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

from accounts.serializers import NICKNAME_INPUT_PATTERN, PHONE_INPUT_PATTERN, SITE_ID_INPUT_PATTERN
from casinoclub.idempotency import KEY_PATTERN

SCHEMA = yaml.safe_load((Path(settings.BASE_DIR) / "docs" / "openapi.yaml").read_text())
COMPONENTS = SCHEMA["components"]["schemas"]
GOLD_MOVING = {
    "admin_users_gold_adjust",
    "battle_pass_claim",
    "events_claim",
    "events_join",
    "events_missions_claim",
    "games_crash_bet",
    "games_crash_cashout",
    "games_gacha_pull",
    "games_rps_play",
    "games_slot_spin",
    "notification_claim",
    "shop_buy",
    "shop_buy_limited",
    "streak_claim",
    "users_me_refill_claim",
    "vip_claim",
}
# Open on purpose: a client's free analytics map, and Stripe's own object inside its event.
OPEN_OBJECTS = {("TelemetryEventRequest", "props"), ("StripeEventDataRequest", "object")}


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in SCHEMA["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def operation(operation_id: str) -> dict[str, Any]:
    return next(op for _, _, op in operations() if op["operationId"] == operation_id)


def test_every_gold_moving_operation_requires_the_idempotency_header_with_its_pattern():
    with_header = {
        op["operationId"]
        for _, _, op in operations()
        if any(p["name"] == "Idempotency-Key" for p in op.get("parameters", []))
    }

    assert with_header == GOLD_MOVING
    for operation_id in GOLD_MOVING:
        (header,) = [p for p in operation(operation_id)["parameters"] if p["in"] == "header"]
        assert header["required"] is True
        assert header["schema"] == {
            "type": "string",
            "pattern": KEY_PATTERN.pattern,
            "minLength": 8,
            "maxLength": 100,
        }


def test_no_request_body_offers_an_idempotency_key_field():
    offered = [
        name for name, c in COMPONENTS.items() if "idempotency_key" in c.get("properties", {})
    ]

    assert offered == []


def test_signup_names_carry_the_patterns_the_server_enforces():
    properties = COMPONENTS["SignupInputRequest"]["properties"]

    assert properties["site_id"]["pattern"] == SITE_ID_INPUT_PATTERN
    assert properties["nickname"]["pattern"] == NICKNAME_INPUT_PATTERN
    assert properties["phone_number"]["pattern"] == PHONE_INPUT_PATTERN
    assert properties["phone_number"]["maxLength"] == 24
    assert re.fullmatch(PHONE_INPUT_PATTERN, "010-1234-5678")
    assert not re.fullmatch(PHONE_INPUT_PATTERN, "010-1234-567x")


def test_login_takes_either_site_id_or_nickname():
    login = COMPONENTS["LoginInputRequest"]

    assert login["oneOf"] == [{"required": ["site_id"]}, {"required": ["nickname"]}]
    assert login["required"] == ["password"]
    assert login["additionalProperties"] is False


def test_the_streak_history_states_its_year_and_month_ranges():
    parameters = {p["name"]: p["schema"] for p in operation("streak_history")["parameters"]}

    assert parameters["year"] == {"type": "integer", "minimum": 2000, "maximum": 2100}
    assert parameters["month"] == {"type": "integer", "minimum": 1, "maximum": 12}


def test_pages_state_their_ranges():
    for operation_id in ("games_history", "shop_transactions"):
        parameters = {p["name"]: p["schema"] for p in operation(operation_id)["parameters"]}

        assert parameters["page"] == {"type": "integer", "minimum": 1, "maximum": 1_000_000_000}
        assert parameters["page_size"] == {"type": "integer", "minimum": 1, "maximum": 100}


def test_every_strict_request_body_refuses_unknown_fields():
    bodies = {
        op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        for _, _, op in operations()
        if "requestBody" in op
    }
    open_bodies = sorted(
        name for name in bodies if COMPONENTS[name].get("additionalProperties") is not False
    )

    assert len(bodies) > 20
    # The payment providers' events are theirs: the webhooks read the fields they know.
    assert open_bodies == ["SimulatedPaymentEventRequest", "StripeEventRequest"]


def test_no_response_or_body_is_a_free_form_object_except_the_open_maps():
    free_form = sorted(
        (name, field)
        for name, component in COMPONENTS.items()
        for field, schema in component.get("properties", {}).items()
        if schema.get("additionalProperties") == {}
    )
    inline = [
        (path, method, status)
        for path, method, op in operations()
        for status, response in op["responses"].items()
        if response.get("content", {})
        .get("application/json", {})
        .get("schema", {})
        .get("additionalProperties")
        == {}
    ]

    assert set(free_form) == OPEN_OBJECTS
    assert inline == []


def test_every_operation_documents_its_success_body_and_the_503_envelope():
    for path, method, op in operations():
        statuses = set(op["responses"])
        success = [s for s in statuses if s.startswith("2")]
        assert success, (path, method)
        for status in success:
            if status != "204":
                assert "schema" in op["responses"][status]["content"]["application/json"]
        envelope = op["responses"]["503"]["content"]["application/json"]["schema"]
        assert envelope == {"$ref": "#/components/schemas/ErrorEnvelope"}


def test_the_play_routes_document_the_daily_limit_and_telemetry_its_size_limit():
    for operation_id in (
        "games_slot_spin",
        "games_rps_play",
        "games_gacha_pull",
        "games_crash_bet",
    ):
        assert "429" in operation(operation_id)["responses"]
    assert "413" in operation("telemetry_events")["responses"]


def test_the_players_journey_is_linked():
    def links(operation_id: str, status: str) -> dict[str, str]:
        found = operation(operation_id)["responses"][status]["links"]
        return {name: link["operationId"] for name, link in found.items()}

    assert links("auth_signup", "201") == {"LogIn": "auth_login"}
    assert links("auth_login", "200") == {"Spin": "games_slot_spin"}
    assert links("games_slot_spin", "200") == {
        "History": "games_history",
        "Verify": "games_round_verify",
    }
    assert links("games_history", "200") == {"Verify": "games_round_verify"}
    assert links("shop_catalog", "200") == {"Buy": "shop_buy"}
    assert links("shop_buy", "200") == {
        "Transactions": "shop_transactions",
        "Settle": "shop_settle",
    }
