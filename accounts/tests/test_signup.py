from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import InviteCode, User
from accounts.tests.factories import InviteCodeFactory, UserFactory

SIGNUP = "/api/auth/signup"


def signup_body(**overrides):
    body = {
        "site_id": "newplayer",
        "nickname": "NewPlayer",
        "phone_number": "010-1234-5678",
        "password": "Str0ng-passw0rd!",
        "invite_code": "5858",
        "birth_date": "1990-01-01",
    }
    body.update(overrides)
    return body


@pytest.mark.django_db
def test_signup_with_master_code_creates_player_and_returns_tokens(api_client):
    response = api_client.post(SIGNUP, signup_body(site_id="NewPlayer"), format="json")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"access", "refresh", "user"}
    assert body["user"]["site_id"] == "newplayer"
    assert body["user"]["phone_number"] == "01012345678"
    assert body["user"]["rank"] == "STANDARD"
    user = User.objects.get(site_id="newplayer")
    assert user.check_password("Str0ng-passw0rd!")
    assert user.invite_code is None


@pytest.mark.django_db
def test_signup_with_staff_code_consumes_one_use(api_client):
    code = InviteCodeFactory(code="FRIENDS1", max_uses=3, uses=1)

    response = api_client.post(SIGNUP, signup_body(invite_code="FRIENDS1"), format="json")

    assert response.status_code == 201
    code.refresh_from_db()
    assert code.uses == 2
    assert User.objects.get(site_id="newplayer").invite_code == code


@pytest.mark.parametrize(
    ("code_kwargs", "invite_code", "expected_code"),
    [
        ({}, "NOSUCHCODE", "invite_code_invalid"),
        (
            {"code": "OLD", "expires_at": timezone.now() - timedelta(seconds=1)},
            "OLD",
            "invite_code_expired",
        ),
        ({"code": "FULL", "max_uses": 2, "uses": 2}, "FULL", "invite_code_used_up"),
        ({"code": "OFF", "is_active": False}, "OFF", "invite_code_invalid"),
    ],
)
@pytest.mark.django_db
def test_signup_rejects_unusable_invite_codes(api_client, code_kwargs, invite_code, expected_code):
    if code_kwargs:
        InviteCodeFactory(**code_kwargs)
    uses_before = list(InviteCode.objects.values_list("code", "uses"))

    response = api_client.post(SIGNUP, signup_body(invite_code=invite_code), format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == expected_code
    assert not User.objects.filter(site_id="newplayer").exists()
    assert list(InviteCode.objects.values_list("code", "uses")) == uses_before


@pytest.mark.parametrize(
    ("existing", "body", "expected_code"),
    [
        ({"site_id": "newplayer"}, {}, "site_id_taken"),
        (
            {"nickname": "newplayer"},
            {"site_id": "otherid", "nickname": "NEWPLAYER"},
            "nickname_taken",
        ),
        ({"phone_number": "01012345678"}, {}, "phone_number_taken"),
    ],
)
@pytest.mark.django_db
def test_signup_rejects_duplicates(api_client, existing, body, expected_code):
    UserFactory(**existing)
    code = InviteCodeFactory(code="ONCE", max_uses=5)

    response = api_client.post(SIGNUP, signup_body(invite_code="ONCE", **body), format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == expected_code
    assert User.objects.count() == 1
    code.refresh_from_db()
    assert code.uses == 0


@pytest.mark.parametrize("password", ["short1", "password123", "12345678901", "newplayer1"])
@pytest.mark.django_db
def test_signup_rejects_weak_passwords(api_client, password):
    response = api_client.post(SIGNUP, signup_body(password=password), format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "weak_password"
    assert response.json()["error"]["details"]["password"]
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("raw_body", "field"),
    [
        ('{"site_id": ', None),
        ("[1, 2]", "non_field_errors"),
        (
            '{"site_id": 12, "nickname": [], "phone_number": "01012345678", "password": "Str0ng-passw0rd!", "invite_code": "5858"}',
            "nickname",
        ),
        (
            '{"nickname": "abc", "phone_number": "01012345678", "password": "Str0ng-passw0rd!", "invite_code": "5858"}',
            "site_id",
        ),
        (
            '{"site_id": "'
            + "a" * 33
            + '", "nickname": "abc", "phone_number": "01012345678", "password": "Str0ng-passw0rd!", "invite_code": "5858"}',
            "site_id",
        ),
        (
            '{"site_id": "okplayer", "nickname": "abc", "phone_number": "01012345678", "password": "Str0ng-passw0rd!", "invite_code": "5858", "gold": 1000000}',
            "gold",
        ),
        (
            '{"site_id": "okplayer", "nickname": "a b", "phone_number": "01012345678", "password": "Str0ng-passw0rd!", "invite_code": "5858"}',
            "nickname",
        ),
        (
            '{"site_id": "okplayer", "nickname": "abc", "phone_number": "12ab", "password": "Str0ng-passw0rd!", "invite_code": "5858"}',
            "phone_number",
        ),
    ],
)
@pytest.mark.django_db
def test_signup_bad_input_is_400_in_the_envelope_and_creates_nothing(api_client, raw_body, field):
    response = api_client.post(SIGNUP, raw_body, content_type="application/json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == ("malformed_request" if field is None else "validation_error")
    if field is not None:
        assert field in error["details"]
    assert not User.objects.exists()


@pytest.mark.django_db
def test_invite_validate_reports_validity_without_consuming(api_client):
    InviteCodeFactory(code="LAST", max_uses=1)

    valid = api_client.post("/api/invite/validate", {"invite_code": "LAST"}, format="json")
    master = api_client.post("/api/invite/validate", {"invite_code": "5858"}, format="json")
    unknown = api_client.post("/api/invite/validate", {"invite_code": "NOPE"}, format="json")

    assert valid.json() == {"valid": True, "code": None}
    assert master.json() == {"valid": True, "code": None}
    assert unknown.json() == {"valid": False, "code": "invite_code_invalid"}
    assert InviteCode.objects.get(code="LAST").uses == 0


@pytest.mark.parametrize(
    ("existing", "invite_code"),
    [
        ({"phone_number": "01012345678"}, "NOSUCHCODE"),
        ({"site_id": "newplayer"}, "NOSUCHCODE"),
        ({"nickname": "NewPlayer"}, "NOSUCHCODE"),
        ({"phone_number": "01012345678"}, "FULL"),
    ],
)
@pytest.mark.django_db
def test_signup_without_a_usable_code_never_reveals_registered_identities(
    api_client, existing, invite_code
):
    # given a registered player and a caller without a usable invite code
    UserFactory(**existing)
    InviteCodeFactory(code="FULL", max_uses=1, uses=1)

    # when the caller signs up with that player's phone number, site_id or nickname
    response = api_client.post(SIGNUP, signup_body(invite_code=invite_code), format="json")

    # then the answer is the invite error, exactly as for a free identity
    free = api_client.post(
        SIGNUP,
        signup_body(
            invite_code=invite_code,
            site_id="freeplayer",
            nickname="FreePlayer",
            phone_number="010-9999-0000",
        ),
        format="json",
    )
    assert response.status_code == free.status_code == 400
    assert response.json()["error"]["code"] == free.json()["error"]["code"]
    assert response.json()["error"]["code"] in {"invite_code_invalid", "invite_code_used_up"}
    assert User.objects.count() == 1
    assert InviteCode.objects.get(code="FULL").uses == 1


@pytest.mark.django_db
def test_signup_with_a_usable_code_reports_the_conflict_and_keeps_the_use(api_client):
    # given a registered phone number and a valid code with one use left
    UserFactory(phone_number="01012345678")
    code = InviteCodeFactory(code="LASTONE", max_uses=1, uses=0)

    # when a holder of the code signs up with that phone number
    response = api_client.post(SIGNUP, signup_body(invite_code="LASTONE"), format="json")

    # then the conflict is reported and the use is not consumed
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "phone_number_taken"
    code.refresh_from_db()
    assert code.uses == 0
    assert User.objects.count() == 1


# ---------------------------------------------------------------- look-alike login names


@pytest.mark.parametrize(
    ("existing", "body", "expected_code"),
    [
        # a site_id equal to another player's nickname would take over their nickname login
        ({"nickname": "Famous"}, {"site_id": "famous"}, "site_id_taken"),
        ({"nickname": "Famous"}, {"site_id": "fam0us"}, "site_id_taken"),
        # a nickname equal to another player's site_id
        ({"site_id": "famous"}, {"nickname": "FAMOUS"}, "nickname_taken"),
        # confusable characters: Cyrillic а, digit 0 for O, 1 / l / I
        ({"nickname": "Alice"}, {"nickname": "Аlice"}, "nickname_taken"),
        ({"nickname": "Bob"}, {"nickname": "B0B"}, "nickname_taken"),
        ({"nickname": "Bill"}, {"nickname": "B1lI"}, "nickname_taken"),
        ({"nickname": "Bob"}, {"nickname": "Ｂｏｂ"}, "nickname_taken"),  # full-width
        ({"site_id": "admin1"}, {"nickname": "АDMIN1"}, "nickname_taken"),
    ],
)
@pytest.mark.django_db
def test_signup_refuses_login_names_that_look_like_another_players(
    api_client, existing, body, expected_code
):
    # given a player
    owner = UserFactory(**existing)

    # when someone signs up with a name that looks like theirs
    response = api_client.post(SIGNUP, signup_body(**body), format="json")

    # then it is refused and the owner keeps their names
    assert response.status_code == 409
    assert response.json()["error"]["code"] == expected_code
    assert list(User.objects.values_list("pk", flat=True)) == [owner.pk]


@pytest.mark.django_db
def test_a_player_may_use_their_own_site_id_as_nickname(api_client):
    response = api_client.post(
        SIGNUP, signup_body(site_id="newplayer", nickname="NewPlayer"), format="json"
    )

    assert response.status_code == 201


@pytest.mark.django_db
def test_nickname_login_cannot_be_taken_over_by_a_new_site_id(api_client):
    # given a player known by the public nickname "Famous"
    owner = UserFactory(site_id="owner01", nickname="Famous")

    # when an attacker signs up with site_id "famous" and logs in by that name
    attacker_password = "Attacker-passw0rd!"
    signup = api_client.post(
        SIGNUP, signup_body(site_id="famous", password=attacker_password), format="json"
    )
    login = api_client.post(
        "/api/auth/login", {"nickname": "famous", "password": attacker_password}, format="json"
    )

    # then the signup is refused and the nickname still names the owner only
    assert signup.status_code == 409
    assert signup.json()["error"]["code"] == "site_id_taken"
    assert login.status_code == 401
    assert User.objects.count() == 1
    assert User.objects.get().pk == owner.pk
