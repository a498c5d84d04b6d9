"""The shared crash round in admin: chains and rounds read-only, the live outcome never shown, the
salt set once by staff holding its permission (docs/decisions/0251)."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.admin.utils import display_for_value
from django.contrib.messages import get_messages

from accounts.models import AuditLogEntry
from accounts.roles import ECONOMY, SUPPORT
from accounts.tests.factories import staff_member
from accounts.tokens import token_pair_for_user
from games import services
from games.models import CrashChain, CrashChainHash, CrashPhase, CrashRound, GameRound
from games.tests.crash_helpers import DEV_SALT, chain_where_first_round, running_round_with_bet
from games.tests.factories import funded_player

pytestmark = pytest.mark.django_db

ROUNDS = "/admin/games/crashround/"
CHAINS = "/admin/games/crashchain/"
SALT = "ab" * 32
# A crash point of 50x or more: the curve runs over a minute, so the bust time is never shown as
# the same minute as the start (admin shows times to the minute).
LATE_BUST = 5000


def late_bust(crash_x100: int) -> bool:
    return crash_x100 >= LATE_BUST


def player_api_client():  # type: ignore[no-untyped-def]
    from rest_framework.test import APIClient

    client = APIClient()
    token = token_pair_for_user(funded_player())["access"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def betting_round() -> CrashRound:
    chain_where_first_round(late_bust)
    services.crash_loop_step()
    round_ = CrashRound.objects.get()
    assert round_.phase == CrashPhase.BETTING
    return round_


def running_round() -> CrashRound:
    round_, _bet_id = running_round_with_bet(player_api_client(), wanted=late_bust)
    assert round_.phase == CrashPhase.RUNNING
    return round_


def busted_round() -> CrashRound:
    round_ = running_round()
    services.crash_loop_step(now=round_.bust_at)
    round_.refresh_from_db()
    assert round_.phase == CrashPhase.BUSTED
    return round_


def crash_point_texts(round_: CrashRound) -> list[str]:
    """How a crash point may be written: 57.31x, 57.31, 5731."""
    return [f"{round_.crash_x100 / 100:.2f}", str(round_.crash_x100)]


def page(client, url: str) -> str:  # type: ignore[no-untyped-def]
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def squashed(html: str) -> str:
    """The page with every run of white space as one space."""
    return " ".join(html.split())


def assert_outcome_hidden(html: str, round_: CrashRound) -> None:
    assert round_.hash not in html
    assert round_.hash[:12] not in html
    for text in crash_point_texts(round_):
        assert text not in html
    if round_.bust_at is not None:
        assert str(display_for_value(round_.bust_at, "-")) not in html
    assert "hidden until the round ends" in html


def salt_page(chain: CrashChain) -> str:
    return f"{CHAINS}{chain.pk}/salt/"


def unsalted_chain() -> CrashChain:
    return services.crash_chain_create(3, seed_hex="cd" * 32)


# ---------------------------------------------------------------- pages render


def test_every_crash_page_renders_for_a_superuser_with_rounds_in_each_phase(admin_client):
    # given a busted round, then the next round betting
    busted = busted_round()
    services.crash_loop_step(now=busted.ended_at + timedelta(seconds=60))
    betting = CrashRound.objects.get(phase=CrashPhase.BETTING)

    # then the lists and every page open
    rounds = page(admin_client, ROUNDS)
    assert f"{ROUNDS}{busted.pk}/change/" in rounds
    assert f"{ROUNDS}{betting.pk}/change/" in rounds
    page(admin_client, f"{ROUNDS}{busted.pk}/change/")
    page(admin_client, f"{ROUNDS}{betting.pk}/change/")
    page(admin_client, f"{ROUNDS}?phase__exact=busted&chain__id__exact={busted.chain_id}")
    page(admin_client, f"{ROUNDS}?q={betting.pk}")
    page(admin_client, f"{ROUNDS}?q=not-a-number")
    chains = page(admin_client, CHAINS)
    assert busted.chain.terminal_hash in chains
    page(admin_client, f"{CHAINS}{busted.chain_id}/change/")


def test_the_chain_list_shows_rounds_played_and_left_the_commitment_and_the_salt(admin_client):
    # given a chain of 5 with one round made, and a chain without its salt
    round_ = betting_round()
    unsalted = unsalted_chain()

    html = page(admin_client, CHAINS)

    assert round_.chain.terminal_hash in html
    assert DEV_SALT in html
    assert "test salt" in html
    assert unsalted.terminal_hash in html
    assert "not set: rounds cannot start" in html
    assert "manage.py crash_chain create" in html
    chain_page = page(admin_client, f"{CHAINS}{round_.chain_id}/change/")
    assert 'Rounds played:</label> <div class="readonly">1</div>' in squashed(chain_page)
    assert 'Rounds left:</label> <div class="readonly">4</div>' in squashed(chain_page)
    assert f"{ROUNDS}?chain__id__exact={round_.chain_id}" in chain_page


# ---------------------------------------------------------------- no future outcome


def test_a_betting_rounds_hash_and_crash_point_are_on_no_admin_page(admin_client):
    round_ = betting_round()

    for url in (ROUNDS, f"{ROUNDS}{round_.pk}/change/"):
        assert_outcome_hidden(page(admin_client, url), round_)
    chain_pages = page(admin_client, CHAINS) + page(
        admin_client, f"{CHAINS}{round_.chain_id}/change/"
    )
    assert round_.hash not in chain_pages


def test_a_running_rounds_hash_crash_point_and_bust_time_are_on_no_admin_page(admin_client):
    round_ = running_round()
    bet = GameRound.objects.get(crash_round=round_)

    for url in (ROUNDS, f"{ROUNDS}{round_.pk}/change/", f"/admin/games/gameround/{bet.pk}/change/"):
        assert_outcome_hidden(page(admin_client, url), round_)
    # the bets are shown as they stand: 100 in, no cash-out yet
    detail = page(admin_client, f"{ROUNDS}{round_.pk}/change/")
    assert "data-testid='crash-round-bets'" in detail
    assert f"<td>{bet.user.nickname} ({bet.user.site_id})</td>" not in detail  # a link
    assert f">{bet.user.nickname} ({bet.user.site_id})</a></td><td>100</td>" in detail
    assert "once the round ends" in detail
    assert f"/play/crash/rounds/{round_.pk}/" not in detail


def test_a_busted_rounds_page_shows_its_hash_crash_point_previous_hash_and_verification(
    admin_client,
):
    round_ = busted_round()
    previous = CrashChainHash.objects.get(chain_id=round_.chain_id, position=round_.position - 1)

    detail = page(admin_client, f"{ROUNDS}{round_.pk}/change/")
    listing = page(admin_client, ROUNDS)

    assert round_.hash in detail
    assert f"{round_.crash_x100 / 100:.2f}x" in detail
    assert f"{round_.crash_x100 / 100:.2f}x" in listing
    assert previous.hash == round_.chain.terminal_hash  # the chain's first round
    assert previous.hash in detail
    assert f'href="/play/crash/rounds/{round_.pk}/"' in detail
    assert str(display_for_value(round_.bust_at, "-")) in detail
    assert "hidden until the round ends" not in detail


@pytest.mark.parametrize(
    "query",
    [
        "crash_x100__gte=1000",
        "crash_x100=5731",
        "hash__startswith=a",
        "hash=abc",
        "bust_at__gte=2000-01-01",
        "bets__outcome__crash_x100__gte=1",
        "chain__rounds__crash_x100__gte=1",
    ],
)
def test_the_round_list_cannot_be_filtered_on_the_outcome(admin_client, query):
    betting_round()

    response = admin_client.get(f"{ROUNDS}?{query}")

    assert response.status_code == 400


def test_the_chain_list_cannot_be_filtered_on_its_rounds_outcome(admin_client):
    betting_round()

    response = admin_client.get(f"{CHAINS}?rounds__crash_x100__gte=1000")

    assert response.status_code == 400


def test_the_outcome_columns_do_not_sort_the_round_list(admin_client):
    # given a running round: ordering by a hidden column must not be possible
    round_ = running_round()
    model_admin = admin.site._registry[CrashRound]
    columns = list(model_admin.list_display)

    for name in ("crash_point", "bust_time"):
        assert not hasattr(getattr(model_admin, name), "admin_order_field")
        response = admin_client.get(f"{ROUNDS}?o={columns.index(name) + 1}")
        assert response.status_code == 200
        assert_outcome_hidden(response.content.decode(), round_)


def test_the_chain_links_have_no_admin():
    assert CrashChainHash not in admin.site._registry


def test_the_chain_links_page_does_not_exist(admin_client):
    betting_round()

    response = admin_client.get("/admin/games/crashchainhash/")

    assert response.status_code == 404


def test_crash_pages_add_change_and_delete_nothing(admin_client):
    round_ = betting_round()

    for model in (CrashChain, CrashRound):
        model_admin = admin.site._registry[model]
        request = admin_client.get(CHAINS).wsgi_request
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request, None)
        assert not model_admin.has_delete_permission(request, None)
    assert admin_client.get(f"{ROUNDS}add/").status_code == 403
    assert admin_client.post(f"{ROUNDS}{round_.pk}/delete/", {"post": "yes"}).status_code == 403
    assert CrashRound.objects.filter(pk=round_.pk).exists()


# ---------------------------------------------------------------- permissions


def test_staff_without_the_view_permissions_get_403_on_every_crash_page(client):
    round_ = betting_round()
    client.force_login(staff_member())

    for url in (
        ROUNDS,
        f"{ROUNDS}{round_.pk}/change/",
        CHAINS,
        f"{CHAINS}{round_.chain_id}/change/",
    ):
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize("role", [SUPPORT, ECONOMY])
def test_support_and_economy_staff_watch_the_rounds_and_chains(client, role):
    round_ = running_round()
    client.force_login(staff_member(role))

    for url in (
        ROUNDS,
        f"{ROUNDS}{round_.pk}/change/",
        CHAINS,
        f"{CHAINS}{round_.chain_id}/change/",
    ):
        html = page(client, url)
        assert round_.hash not in html


# ---------------------------------------------------------------- the salt


def test_a_superuser_sets_a_chains_salt_once_with_an_audit_row(admin_client, admin_user):
    chain = unsalted_chain()
    assert 'data-testid="crash-chain-set-salt"' in page(admin_client, f"{CHAINS}{chain.pk}/change/")
    page(admin_client, salt_page(chain))

    response = admin_client.post(salt_page(chain), {"salt": SALT, "source": "Bitcoin block 900000"})

    assert response.status_code == 302
    assert response["Location"] == f"{CHAINS}{chain.pk}/change/"
    chain.refresh_from_db()
    assert (chain.salt, chain.salt_source) == (SALT, "Bitcoin block 900000")
    assert chain.salt_set_at is not None
    entry = AuditLogEntry.objects.get(action="crash_chain_salt_set")
    assert entry.actor == admin_user
    assert entry.target == f"crashchain:{chain.pk} {chain}"
    assert entry.before == {"salt": "", "salt_source": ""}
    assert entry.after == {
        "salt": SALT,
        "salt_source": "Bitcoin block 900000",
        "salt_set_at": chain.salt_set_at.isoformat(),
    }
    assert 'data-testid="crash-chain-set-salt"' not in page(
        admin_client, f"{CHAINS}{chain.pk}/change/"
    )


def test_a_second_salt_is_refused_with_a_message_and_changes_nothing(admin_client):
    chain = unsalted_chain()
    first = {"salt": SALT, "source": "Bitcoin block 900000"}
    assert admin_client.post(salt_page(chain), first, follow=True).status_code == 200
    chain.refresh_from_db()
    before = (chain.salt, chain.salt_source, chain.salt_set_at)

    response = admin_client.post(salt_page(chain), {"salt": "ef" * 32, "source": "another"})

    assert response.status_code == 200
    shown = [str(message) for message in get_messages(response.wsgi_request)]
    assert shown == [
        "That is not possible for this crash chain. salt: already set: it never changes"
    ]
    chain.refresh_from_db()
    assert (chain.salt, chain.salt_source, chain.salt_set_at) == before
    assert AuditLogEntry.objects.filter(action="crash_chain_salt_set").count() == 1


@pytest.mark.parametrize(
    ("salt", "source", "message"),
    [
        ("AB" * 32, "Bitcoin block 1", "salt: 64 lowercase hex digits"),
        ("xyz", "Bitcoin block 1", "salt: 64 lowercase hex digits"),
    ],
)
def test_a_bad_salt_is_refused_with_the_services_message(admin_client, salt, source, message):
    chain = unsalted_chain()

    response = admin_client.post(salt_page(chain), {"salt": salt, "source": source})

    assert response.status_code == 200
    shown = [str(message) for message in get_messages(response.wsgi_request)]
    assert shown == [f"That is not possible for this crash chain. {message}"]
    chain.refresh_from_db()
    assert (chain.salt, chain.salt_source, chain.salt_set_at) == ("", "", None)
    assert not AuditLogEntry.objects.filter(action="crash_chain_salt_set").exists()


def test_an_empty_salt_form_is_shown_again_and_sets_nothing(admin_client):
    chain = unsalted_chain()

    response = admin_client.post(salt_page(chain), {"salt": "", "source": ""})

    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"salt", "source"}
    chain.refresh_from_db()
    assert chain.salt == ""


@pytest.mark.parametrize("role", [None, SUPPORT, ECONOMY])
def test_staff_without_the_salt_permission_cannot_set_it(client, role):
    chain = unsalted_chain()
    client.force_login(staff_member(role))

    form = client.get(salt_page(chain))
    posted = client.post(salt_page(chain), {"salt": SALT, "source": "Bitcoin block 900000"})

    assert form.status_code == 403
    assert posted.status_code == 403
    chain.refresh_from_db()
    assert (chain.salt, chain.salt_source, chain.salt_set_at) == ("", "", None)
    assert not AuditLogEntry.objects.filter(action="crash_chain_salt_set").exists()
    if role is not None:  # they see the chain, without the link
        assert 'data-testid="crash-chain-set-salt"' not in page(
            client, f"{CHAINS}{chain.pk}/change/"
        )


def test_staff_given_the_salt_permission_alone_may_set_it(client):
    from django.contrib.auth.models import Permission

    staff = staff_member()
    staff.user_permissions.add(Permission.objects.get(codename="set_crash_chain_salt"))
    chain = unsalted_chain()
    client.force_login(staff)

    response = client.post(salt_page(chain), {"salt": SALT, "source": "Bitcoin block 900000"})

    assert response.status_code == 302
    chain.refresh_from_db()
    assert chain.salt == SALT
    assert AuditLogEntry.objects.get(action="crash_chain_salt_set").actor == staff


def test_the_salt_page_of_an_unknown_chain_is_404(admin_client):
    assert admin_client.get(f"{CHAINS}987654321/salt/").status_code == 404


def test_the_command_setting_a_salt_is_audited_without_an_actor():
    chain = unsalted_chain()

    services.crash_chain_salt_set(chain.pk, SALT, "Bitcoin block 900000")

    entry = AuditLogEntry.objects.get(action="crash_chain_salt_set")
    assert entry.actor is None
    assert entry.after["salt"] == SALT


def test_support_and_economy_may_view_the_crash_round_and_only_the_administrator_sets_a_salt():
    from django.contrib.auth.models import Group

    from accounts.roles import ADMINISTRATOR

    def held(role: str) -> set[str]:
        return set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))

    for role in (SUPPORT, ECONOMY):
        assert {"view_crashround", "view_crashchain"} <= held(role)
        assert "set_crash_chain_salt" not in held(role)
        assert not {"change_crashchain", "delete_crashchain", "view_crashchainhash"} & held(role)
    assert "set_crash_chain_salt" in held(ADMINISTRATOR)


@pytest.mark.django_db(transaction=True)
def test_two_staff_setting_a_salt_at_once_set_it_once(admin_user):
    from django.contrib.auth.models import Permission
    from django.test import Client

    from accounts.tests.test_races import run_together

    second = staff_member()
    second.user_permissions.add(Permission.objects.get(codename="set_crash_chain_salt"))
    chain = unsalted_chain()
    salts = [SALT, "ef" * 32]

    def set_salt(index: int) -> int:
        client = Client(raise_request_exception=False)
        client.force_login([admin_user, second][index])
        body = {"salt": salts[index], "source": f"Bitcoin block {index}"}
        return client.post(salt_page(chain), body).status_code

    statuses = run_together(2, set_salt)

    assert sorted(statuses) == [200, 302]  # one set, the other refused with a message
    winner = statuses.index(302)
    chain.refresh_from_db()
    assert (chain.salt, chain.salt_source) == (salts[winner], f"Bitcoin block {winner}")
    entry = AuditLogEntry.objects.get(action="crash_chain_salt_set")
    assert entry.actor_id == [admin_user, second][winner].pk


def test_a_cash_out_in_the_running_round_shows_in_its_bets_and_the_outcome_stays_hidden(
    admin_client,
):
    client = player_api_client()
    round_, bet_id = running_round_with_bet(client, wanted=late_bust)
    cashed = client.post(
        "/api/games/crash/cashout",
        {"round_id": bet_id},
        format="json",
        HTTP_IDEMPOTENCY_KEY="admin-cashout-1",
    )
    assert cashed.status_code == 200, cashed.json()
    bet = GameRound.objects.get(pk=bet_id)

    detail = page(admin_client, f"{ROUNDS}{round_.pk}/change/")

    assert_outcome_hidden(detail, round_)
    cells = f"<td>{bet.bet}</td><td>-</td><td>{bet.multiplier_x100 / 100:.2f}x</td>"
    assert f"{cells}<td>{bet.payout}</td><td>Settled</td>" in detail


def test_a_voided_rounds_page_shows_its_hash_and_crash_point(admin_client):
    round_ = betting_round()
    services.crash_loop_takeover()
    round_.refresh_from_db()
    assert round_.phase == CrashPhase.VOIDED

    detail = page(admin_client, f"{ROUNDS}{round_.pk}/change/")

    assert round_.hash in detail
    assert f"{round_.crash_x100 / 100:.2f}x" in detail
    assert f'href="/play/crash/rounds/{round_.pk}/"' in detail
