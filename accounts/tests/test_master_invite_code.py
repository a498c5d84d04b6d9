"""Without ``MASTER_INVITE_CODE`` (production's default) there is no never-exhausted code."""

import pytest

from accounts.models import LedgerEntry, User

SIGNUP = "/api/auth/signup"
BODY = {
    "site_id": "newplayer",
    "nickname": "NewPlayer",
    "phone_number": "010-1234-5678",
    "password": "Str0ng-passw0rd!",
    "birth_date": "1990-01-01",
}


@pytest.mark.django_db
def test_without_a_master_code_the_old_default_signs_nobody_up(api_client, settings):
    settings.MASTER_INVITE_CODE = None

    response = api_client.post(SIGNUP, {**BODY, "invite_code": "5858"}, format="json")
    validate = api_client.post("/api/invite/validate", {"invite_code": "5858"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invite_code_invalid"
    assert validate.json() == {"valid": False, "code": "invite_code_invalid"}
    assert User.objects.count() == 0
    assert LedgerEntry.objects.count() == 0


def test_an_empty_code_never_matches_an_unset_master_code(settings):
    from accounts.services.auth import _is_master_invite_code

    for unset in (None, ""):
        settings.MASTER_INVITE_CODE = unset
        assert _is_master_invite_code("") is False


@pytest.mark.django_db
def test_a_configured_master_code_signs_up_and_others_do_not(api_client, settings):
    settings.MASTER_INVITE_CODE = "Spring-VIP-2026-k9Q"

    chosen = api_client.post(SIGNUP, {**BODY, "invite_code": "Spring-VIP-2026-k9Q"}, format="json")
    old = api_client.post(
        SIGNUP,
        {
            **BODY,
            "site_id": "other",
            "nickname": "Other",
            "phone_number": "010-9999-8888",
            "invite_code": "5858",
        },
        format="json",
    )

    assert chosen.status_code == 201
    assert old.status_code == 400
    assert list(User.objects.values_list("site_id", flat=True)) == ["newplayer"]
