"""Strict parsing, decided in one place (``casinoclub.serializers``, docs/decisions/0161).

Each request here broke the schema and was accepted before: a number where a string is
required was turned into a string, a malformed query parameter fell back to a default, the
idempotency key travelled in a body field the schema did not promise. Each is now a 400 in the
error envelope, and nothing changed.
"""

from __future__ import annotations

import pytest

from accounts.models import LedgerEntry, User
from casinoclub.telemetry.models import TelemetryEvent
from games.models import FairSeed, GameRound
from games.tests.factories import funded_player

TS = "2026-11-27T10:00:00+00:00"


def assert_validation_error(response, field: str) -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["details"]


@pytest.mark.django_db
def test_a_number_as_the_client_seed_is_refused_and_the_seed_pair_stays(client_for):
    player = funded_player()
    client = client_for(player)
    client.get("/api/games/fairness")
    seeds = list(FairSeed.objects.filter(user=player).values_list("pk", "is_active"))

    response = client.post("/api/games/fairness/rotate", {"client_seed": 0}, format="json")

    assert_validation_error(response, "client_seed")
    assert response.json()["error"]["details"]["client_seed"] == ["Must be a string."]
    assert list(FairSeed.objects.filter(user=player).values_list("pk", "is_active")) == seeds


@pytest.mark.django_db
def test_a_number_as_the_invite_code_is_refused(api_client):
    response = api_client.post("/api/invite/validate", {"invite_code": 5858}, format="json")

    assert_validation_error(response, "invite_code")


@pytest.mark.django_db
def test_signup_with_a_number_as_the_invite_code_creates_no_player(api_client):
    body = {
        "site_id": "newplayer",
        "nickname": "NewPlayer",
        "phone_number": "010-1234-5678",
        "password": "Str0ng-passw0rd!",
        "invite_code": 5858,  # the master code, as a number
        "birth_date": "1990-01-01",
    }

    response = api_client.post("/api/auth/signup", body, format="json")

    assert_validation_error(response, "invite_code")
    assert not User.objects.filter(site_id="newplayer").exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("site_id", "  newplayer "), ("nickname", " NewPlayer"), ("phone_number", 1012345678)],
)
@pytest.mark.django_db
def test_signup_names_are_taken_as_sent_or_refused(api_client, field, value):
    body = {
        "site_id": "newplayer",
        "nickname": "NewPlayer",
        "phone_number": "010-1234-5678",
        "password": "Str0ng-passw0rd!",
        "invite_code": "5858",
        "birth_date": "1990-01-01",
        field: value,
    }

    response = api_client.post("/api/auth/signup", body, format="json")

    assert_validation_error(response, field)
    assert not User.objects.filter(site_id="newplayer").exists()


@pytest.mark.django_db
def test_a_telemetry_event_named_by_a_number_is_refused_and_nothing_stored(player_client):
    response = player_client.post(
        "/api/telemetry/events", {"events": [{"name": 0, "ts": TS}]}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"events": {"0": {"name": ["Must be a string."]}}}
    assert TelemetryEvent.objects.count() == 0


@pytest.mark.parametrize("path", ["/api/games/history", "/api/shop/transactions"])
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page_size=null", "page_size"),
        ("page_size=0", "page_size"),
        ("page_size=101", "page_size"),
        ("page_size=1.5", "page_size"),
        ("page=abc", "page"),
        ("page=0", "page"),
        ("page=1&page=2", "page"),
    ],
)
@pytest.mark.django_db
def test_a_malformed_page_query_is_400_not_a_default(player_client, path, query, field):
    response = player_client.get(f"{path}?{query}")

    assert_validation_error(response, field)


@pytest.mark.django_db
def test_a_well_formed_page_past_the_end_is_still_404(player_client):
    response = player_client.get("/api/games/history?page=2&page_size=100")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_the_idempotency_key_is_not_read_from_the_body(client_for):
    player = funded_player(gold=1_000)
    client = client_for(player)

    response = client.post(
        "/api/games/slot/spin", {"bet": 10, "idempotency_key": "body-key-0001"}, format="json"
    )

    assert_validation_error(response, "idempotency_key")
    assert response.json()["error"]["details"]["idempotency_key"] == ["Unknown field."]
    assert not GameRound.objects.filter(user=player).exists()
    assert list(LedgerEntry.objects.filter(wallet_id=player.pk).values_list("delta")) == [(1000,)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"bet": "10"}, "bet"),
        ({"bet": True}, "bet"),
        ({"bet": 10.0}, "bet"),
    ],
)
@pytest.mark.django_db
def test_a_bet_must_be_a_json_integer(client_for, body, field):
    player = funded_player(gold=1_000)

    response = client_for(player).post(
        "/api/games/slot/spin", body, format="json", HTTP_IDEMPOTENCY_KEY="spin-key-0001"
    )

    assert_validation_error(response, field)
    assert not GameRound.objects.filter(user=player).exists()


@pytest.mark.parametrize("count", ["10", 10.0, True])
@pytest.mark.django_db
def test_a_choice_must_have_the_json_type_of_its_values(client_for, count):
    player = funded_player(gold=100_000)

    response = client_for(player).post(
        "/api/games/gacha/pull", {"count": count}, format="json", HTTP_IDEMPOTENCY_KEY="pull-0001"
    )

    assert_validation_error(response, "count")
    assert not GameRound.objects.filter(user=player).exists()


@pytest.mark.parametrize(
    "body",
    [
        {"password": "x"},
        {"site_id": "player0001", "nickname": "Nick0001", "password": "x"},
        {"site_id": " player0001", "password": "x"},
        {"nickname": 12345, "password": "x"},
    ],
)
@pytest.mark.django_db
def test_login_takes_exactly_one_well_formed_name(api_client, body):
    response = api_client.post("/api/auth/login", body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.django_db
def test_telemetry_props_that_postgresql_cannot_store_are_kept_with_a_replacement_character(
    player_client, django_capture_on_commit_callbacks
):
    # A NUL and an unpaired surrogate are valid JSON escapes; storing them was a 500.
    props = r'{"a\u0000b": "x\ud800y"}'
    body = f'{{"events": [{{"name": "page.view", "ts": "{TS}", "props": {props}}}]}}'

    with django_capture_on_commit_callbacks(execute=True):
        response = player_client.post(
            "/api/telemetry/events", body, content_type="application/json"
        )

    assert response.status_code == 202
    assert response.json() == {"received": 1, "stored": 1}
    assert list(TelemetryEvent.objects.values_list("props", flat=True)) == [
        {"a\ufffdb": "x\ufffdy"}
    ]
