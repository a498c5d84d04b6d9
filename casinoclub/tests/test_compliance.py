"""Compliance: a birth date for every account before it plays or buys, staff views of cool-offs and
self-exclusions (extend, never shorten), and the demo seed's audited grants."""

import itertools
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditLogEntry, LedgerEntry, ResponsiblePlay, User, Wallet
from accounts.roles import ECONOMY, SUPPORT
from accounts.services import user_create, wallet_credit
from accounts.services.responsible import cool_off_start, self_exclusion_start
from accounts.tests.factories import PASSWORD, staff_member
from games.models import GameRound
from shop.models import Purchase
from shop.tests.factories import GoldPackFactory

keys = (f"compliance-{n:08d}" for n in itertools.count())
phones = (f"0105555{n:04d}" for n in itertools.count())
BLOCKS = reverse("admin:accounts_responsibleplay_changelist")
ADD_USER = reverse("admin:accounts_user_add")


def post(client, path, body):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=next(keys))


def imported_without_birth_date(site_id: str = "legacy01", gold: int = 10_000) -> User:
    """A player as the CSV import made them before it asked for a birth date."""
    from django.contrib.auth.hashers import make_password

    with transaction.atomic():
        user = user_create(
            site_id=site_id,
            nickname=site_id.capitalize(),
            phone_number=next(phones),
            password_hash=make_password(PASSWORD),
        )
    wallet_credit(user.pk, gold, reason="staff_grant", reference="test", idempotency_key="fund")
    return user


def balance(user: User) -> int:
    return Wallet.objects.get(pk=user.pk).balance


@pytest.mark.django_db
def test_an_imported_player_without_a_birth_date_cannot_spin_or_buy_until_they_give_one(
    api_client,
):
    # given: an imported player with gold and no birth date
    player = imported_without_birth_date()
    GoldPackFactory(code="pack")
    gold_before = balance(player)
    ledger_before = LedgerEntry.objects.filter(wallet_id=player.pk).count()

    # when: they log in
    login = api_client.post(
        "/api/auth/login", {"site_id": player.site_id, "password": PASSWORD}, format="json"
    )

    # then: the login says a birth date is required, and play and purchases are refused
    assert login.status_code == 200
    assert login.json()["user"]["birth_date_required"] is True
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['access']}")
    spin = post(api_client, "/api/games/slot/spin", {"bet": 10})
    buy = post(api_client, "/api/shop/buy", {"product_code": "pack"})
    for refused in (spin, buy):
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "birth_date_required"
    assert balance(player) == gold_before
    assert LedgerEntry.objects.filter(wallet_id=player.pk).count() == ledger_before
    assert not GameRound.objects.exists()
    assert not Purchase.objects.exists()

    # when: they give their birth date
    given = api_client.post("/api/users/me/birth-date", {"birth_date": "1990-05-17"}, format="json")

    # then: it is on file, audited, and they can spin
    assert given.status_code == 200
    assert given.json()["birth_date_required"] is False
    player.refresh_from_db()
    assert player.birth_date == date(1990, 5, 17)
    assert list(
        AuditLogEntry.objects.filter(target_user=player).values_list("action", "actor", "after")
    ) == [("birth_date_given", player.pk, {"birth_date": "1990-05-17"})]
    spin = post(api_client, "/api/games/slot/spin", {"bet": 10})
    assert spin.status_code == 200
    assert GameRound.objects.filter(user=player).count() == 1


@pytest.mark.django_db
def test_a_birth_date_is_given_once_and_a_minor_stays_unable_to_play(api_client, client_for):
    # given: an account without a birth date
    player = imported_without_birth_date()
    client = client_for(player)
    today = timezone.localdate()
    seventeen = today.replace(year=today.year - 17).isoformat()

    # when: they give a date under the minimum age, then try another one
    minor = client.post("/api/users/me/birth-date", {"birth_date": seventeen}, format="json")
    retry = client.post("/api/users/me/birth-date", {"birth_date": "1980-01-01"}, format="json")
    spin = post(client, "/api/games/slot/spin", {"bet": 10})
    malformed = client_for(imported_without_birth_date("legacy02")).post(
        "/api/users/me/birth-date", {"birth_date": "17/05/1990"}, format="json"
    )

    # then: the first date is kept, the second refused, and they cannot play
    assert (minor.status_code, minor.json()["error"]["code"]) == (400, "age_restricted")
    assert (retry.status_code, retry.json()["error"]["code"]) == (409, "birth_date_already_set")
    assert (spin.status_code, spin.json()["error"]["code"]) == (403, "age_restricted")
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (400, "validation_error")
    player.refresh_from_db()
    assert player.birth_date.isoformat() == seventeen
    assert not GameRound.objects.exists()
    assert User.objects.get(site_id="legacy02").birth_date is None


@pytest.mark.django_db
def test_the_pages_ask_for_the_birth_date_before_any_player_page():
    # given: a signed-in page session of an account without a birth date
    player = imported_without_birth_date()
    browser = Client()
    browser.force_login(player)

    # when
    slot = browser.get("/play/slot/")
    form = browser.get(slot["Location"])
    given = browser.post("/birth-date/", {"birth_date": "1990-05-17", "next": "/play/slot/"})

    # then: the slot page redirects to the form, which records the date and goes back
    assert (slot.status_code, slot["Location"]) == (302, "/birth-date/?next=%2Fplay%2Fslot%2F")
    assert form.status_code == 200
    assert 'name="birth_date" type="date"' in form.content.decode()
    assert (given.status_code, given["Location"]) == (302, "/play/slot/")
    assert browser.get("/play/slot/").status_code == 200
    player.refresh_from_db()
    assert player.birth_date == date(1990, 5, 17)


def _add_user_form(**overrides: str) -> dict[str, str]:
    return {
        "site_id": "added01",
        "nickname": "Added01",
        "phone_number": "01066660001",
        "password1": "Added-passw0rd!",
        "password2": "Added-passw0rd!",
        "birth_date": "1990-05-17",
        **overrides,
    }


@pytest.mark.django_db
def test_admin_add_user_requires_a_birth_date_that_passes_the_age_gate(admin_client):
    today = timezone.localdate()
    too_young = (today.replace(year=today.year - 18) + timedelta(days=1)).isoformat()

    missing = admin_client.post(ADD_USER, _add_user_form(birth_date=""))
    minor = admin_client.post(ADD_USER, _add_user_form(birth_date=too_young))

    assert missing.status_code == minor.status_code == 200  # the form again, with its errors
    assert missing.context["adminform"].form.errors["birth_date"] == ["This field is required."]
    assert minor.context["adminform"].form.errors["birth_date"] == [
        "You must be old enough to play to sign up."
    ]
    assert not User.objects.filter(site_id="added01").exists()

    added = admin_client.post(ADD_USER, _add_user_form())

    assert added.status_code == 302
    assert User.objects.get(site_id="added01").birth_date == date(1990, 5, 17)


@pytest.mark.django_db
def test_support_sees_cool_offs_and_self_exclusions_with_their_ends(client):
    # given: one player cooling off, one self-excluded, one whose cool-off ended, one with none
    cooling = imported_without_birth_date("cooling1")
    excluded = imported_without_birth_date("excluded")
    ResponsiblePlay.objects.create(user=imported_without_birth_date("playing1"))
    cooling_state = cool_off_start(cooling.pk, "24h")
    excluded_state = self_exclusion_start(excluded.pk, 180)
    ended = imported_without_birth_date("ended001")
    ResponsiblePlay.objects.create(
        user=ended, block_kind="cool_off", blocked_until=timezone.now() - timedelta(hours=1)
    )
    client.force_login(staff_member(SUPPORT))

    # when
    running = client.get(BLOCKS, {"block": "running"})
    every = client.get(BLOCKS)

    # then: the running blocks, newest end first, with kind and end
    assert running.status_code == 200
    assert [
        (state.user.site_id, state.block_kind, state.blocked_until)
        for state in running.context["cl"].result_list
    ] == [
        ("excluded", "self_exclusion", excluded_state.blocked_until),
        ("cooling1", "cool_off", cooling_state.blocked_until),
    ]
    assert [state.user.site_id for state in every.context["cl"].result_list] == [
        "excluded",
        "cooling1",
        "ended001",
    ]


@pytest.mark.django_db
def test_staff_extend_a_block_audited_but_never_shorten_it(client):
    # given: a player cooling off for 24 hours, and a support staff member
    player = imported_without_birth_date()
    state = cool_off_start(player.pk, "24h")
    original_end = state.blocked_until
    staff = staff_member(SUPPORT)
    client.force_login(staff)
    local = timezone.localtime
    later = local(original_end + timedelta(days=6)).replace(second=0, microsecond=0)
    sooner = local(original_end - timedelta(hours=2)).replace(second=0, microsecond=0)

    # when: they try to shorten it
    shorten = client.post(
        BLOCKS,
        {
            "action": "extend_blocks",
            "_selected_action": [player.pk],
            "blocked_until": sooner.strftime("%Y-%m-%d %H:%M"),
            "reason": "asked by the player",
        },
        follow=True,
    )

    # then: refused, nothing changed, nothing audited
    assert "A running cool-off or self-exclusion cannot be shortened." in shorten.content.decode()
    assert ResponsiblePlay.objects.get(pk=player.pk).blocked_until == original_end
    assert not AuditLogEntry.objects.filter(action="responsible_block_extend").exists()

    # when: they extend it by six days
    client.post(
        BLOCKS,
        {
            "action": "extend_blocks",
            "_selected_action": [player.pk],
            "blocked_until": later.strftime("%Y-%m-%d %H:%M"),
            "reason": "asked by the player",
        },
    )

    # then: extended, same kind, audited with before and after
    state = ResponsiblePlay.objects.get(pk=player.pk)
    assert (state.block_kind, state.blocked_until) == ("cool_off", later)
    entry = AuditLogEntry.objects.get(action="responsible_block_extend")
    assert (entry.actor, entry.target_user, entry.reason) == (staff, player, "asked by the player")
    assert entry.before == {"block_kind": "cool_off", "blocked_until": original_end.isoformat()}
    assert entry.after == {"block_kind": "cool_off", "blocked_until": later.isoformat()}


@pytest.mark.django_db
def test_staff_without_the_permission_cannot_extend_a_block(client):
    player = imported_without_birth_date()
    original_end = cool_off_start(player.pk, "24h").blocked_until
    client.force_login(staff_member(ECONOMY))  # no accounts.view_responsibleplay / extend_block

    listing = client.get(BLOCKS)
    forged = client.post(
        BLOCKS,
        {
            "action": "extend_blocks",
            "_selected_action": [player.pk],
            "blocked_until": "2099-01-01 00:00",
            "reason": "x",
        },
    )

    assert listing.status_code == 403
    assert forged.status_code == 403
    assert ResponsiblePlay.objects.get(pk=player.pk).blocked_until == original_end
    assert not AuditLogEntry.objects.filter(action="responsible_block_extend").exists()


@pytest.mark.django_db
def test_a_viewer_without_extend_permission_is_not_offered_the_action(client):
    from django.contrib.auth.models import Permission

    viewer = staff_member()
    viewer.user_permissions.add(Permission.objects.get(codename="view_responsibleplay"))
    player = imported_without_birth_date()
    original_end = cool_off_start(player.pk, "24h").blocked_until
    client.force_login(viewer)

    listing = client.get(BLOCKS)
    forged = client.post(
        BLOCKS,
        {
            "action": "extend_blocks",
            "_selected_action": [player.pk],
            "blocked_until": "2099-01-01 00:00",
            "reason": "x",
        },
    )

    assert listing.status_code == 200
    assert "extend_blocks" not in listing.content.decode()
    assert forged.status_code == 200  # Django answers an unknown action with the list again
    assert ResponsiblePlay.objects.get(pk=player.pk).blocked_until == original_end
    assert not AuditLogEntry.objects.filter(action="responsible_block_extend").exists()


@pytest.mark.django_db
def test_the_demo_seed_grants_its_gold_through_the_audited_staff_grant():
    call_command("seed_demo", "--password", "Demo-passw0rd!")
    call_command("seed_demo", "--password", "Demo-passw0rd!")  # idempotent

    admin = User.objects.get(site_id="admin")
    players = User.objects.filter(site_id__regex=r"^(user|rival)").order_by("site_id")
    grants = AuditLogEntry.objects.filter(action="gold_grant").order_by("target_user__site_id")
    assert [
        (entry.actor, entry.target_user.site_id, entry.after["balance"] - entry.before["balance"])
        for entry in grants
    ] == [(admin, f"rival00{n}", 100_000) for n in range(1, 4)] + [
        (admin, f"user00{n}", 100_000) for n in range(1, 5)
    ]
    assert all(entry.reason == "Demo starting gold (seed_demo)" for entry in grants)
    assert [player.birth_date for player in players] == [date(1990, 1, 1)] * 7
    assert admin.birth_date == date(1990, 1, 1)
    for player in players:
        grant = LedgerEntry.objects.get(wallet_id=player.pk, reason="staff_grant")
        assert (grant.delta, grant.reference) == (100_000, f"staff:{admin.pk}")
