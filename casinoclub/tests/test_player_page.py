"""The player page: one admin page per player, each section and action behind its permission."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import AuditLogEntry, LedgerEntry, LedgerReason, PlayerNote, User, Wallet
from accounts.roles import ECONOMY, SUPPORT
from accounts.services import responsible, wallet_credit, wallet_debit
from accounts.tests.factories import staff_member
from casinoclub.admin_player import LEDGER_PAGE_SIZE
from games.tests.factories import funded_player
from shop import services as shop_services
from shop.models import Purchase
from shop.tests.factories import GoldPackFactory

pytestmark = pytest.mark.django_db


def page_url(player: User) -> str:
    return reverse("admin:player_page", args=[player.pk])


def action_url(player: User, action: str) -> str:
    return reverse("admin:player_page_action", args=[player.pk, action])


def balance(player: User) -> int:
    return Wallet.objects.get(pk=player.pk).balance


def ledger_rows(html: str) -> list[str]:
    """The ledger table's rows as text: "when | reason | delta | balance after | reference"."""
    rows = re.findall(r'<tr class="ledger-row">(.*?)</tr>', html, flags=re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S) for row in rows]
    return [" | ".join(cell.strip() for cell in row[1:]) for row in cells]


def test_support_sees_the_players_ledger_with_reasons_references_and_balance_after(client):
    # given a player whose gold moved three times
    player = funded_player(5_000)
    wallet_debit(player.pk, 1_200, reason=LedgerReason.GAME_BET, reference="slot:1:0",
                 idempotency_key="bet-1")  # fmt: skip
    wallet_credit(player.pk, 2_400, reason=LedgerReason.GAME_WIN, reference="slot:1:0",
                  idempotency_key="win-1")  # fmt: skip
    client.force_login(staff_member(SUPPORT))

    # when support opens the player's page
    response = client.get(page_url(player))

    # then it shows the balance and every row, newest first
    assert response.status_code == 200
    html = response.content.decode()
    assert '<strong id="player-balance">6,200 gold</strong>' in html
    assert ledger_rows(html) == [
        "Game win | +2,400 | 6,200 | slot:1:0",
        "Game bet | -1,200 | 3,800 | slot:1:0",
        "Staff grant | +5,000 | 5,000 | test",
    ]


def test_the_ledger_filters_by_reason_and_pages(client):
    player = funded_player(0)
    for index in range(LEDGER_PAGE_SIZE + 2):
        wallet_credit(player.pk, 10, reason=LedgerReason.GAME_WIN, reference=f"r{index}",
                      idempotency_key=f"win-{index}")  # fmt: skip
    wallet_credit(player.pk, 7, reason=LedgerReason.STAFF_GRANT, reference="ticket-9",
                  idempotency_key="grant-1")  # fmt: skip
    client.force_login(staff_member(SUPPORT))

    filtered = client.get(page_url(player), {"reason": "staff_grant"})
    first = client.get(page_url(player))
    second = client.get(page_url(player), {"page": 2})

    assert ledger_rows(filtered.content.decode()) == ["Staff grant | +7 | 527 | ticket-9"]
    assert len(ledger_rows(first.content.decode())) == LEDGER_PAGE_SIZE
    assert ledger_rows(second.content.decode()) == [
        "Game win | +10 | 30 | r2",
        "Game win | +10 | 20 | r1",
        "Game win | +10 | 10 | r0",
    ]


def test_staff_without_a_role_cannot_open_the_page(client):
    player = funded_player(100)
    client.force_login(staff_member(None))

    assert client.get(page_url(player)).status_code == 403


def test_economy_staff_grants_gold_from_the_page_audited(client, settings):
    settings.STAFF_GRANT_LIMIT = 1_000
    player = funded_player(100)
    staff = staff_member(ECONOMY)
    client.force_login(staff)

    response = client.post(
        action_url(player, "gold"), {"amount": 500, "reason": "ticket 42", "request_id": "r-1"}
    )

    assert response.status_code == 302
    assert balance(player) == 600
    entry = LedgerEntry.objects.filter(wallet_id=player.pk).latest("id")
    assert (entry.delta, entry.reason) == (500, LedgerReason.STAFF_GRANT)
    audit = AuditLogEntry.objects.get(action="gold_grant")
    assert (audit.actor, audit.target_user, audit.reason) == (staff, player, "ticket 42")


def test_support_cannot_grant_gold_from_the_page_and_nothing_changes(client):
    # given support staff (no grant_gold) on a player's page
    player = funded_player(100)
    client.force_login(staff_member(SUPPORT))
    entries_before = LedgerEntry.objects.count()

    # when they post a grant anyway
    response = client.post(
        action_url(player, "gold"), {"amount": 500, "reason": "forged", "request_id": "r-2"}
    )

    # then 403 and no gold, no ledger row, no audit row
    assert response.status_code == 403
    assert balance(player) == 100
    assert LedgerEntry.objects.count() == entries_before
    assert not AuditLogEntry.objects.exists()


def test_support_bans_from_the_page_with_a_reason_and_economy_cannot(client):
    player = funded_player(0)
    economy = staff_member(ECONOMY)
    support = staff_member(SUPPORT)

    client.force_login(economy)
    refused = client.post(action_url(player, "ban"), {"action": "ban", "reason": "abuse"})
    player.refresh_from_db()
    assert refused.status_code == 403
    assert player.is_active is True
    assert not AuditLogEntry.objects.exists()

    client.force_login(support)
    done = client.post(action_url(player, "ban"), {"action": "ban", "reason": "abuse"})
    player.refresh_from_db()
    assert done.status_code == 302
    assert player.is_active is False
    audit = AuditLogEntry.objects.get(action="user_ban")
    assert (audit.actor, audit.target_user, audit.reason) == (support, player, "abuse")
    page = client.get(page_url(player)).content.decode()
    assert "until lifted" in page  # the ban history shows the ban's end


def test_a_staff_note_is_stored_audited_and_shown(client):
    player = funded_player(0)
    support = staff_member(SUPPORT)
    client.force_login(support)

    response = client.post(action_url(player, "note"), {"text": "Called about a lost spin."})

    assert response.status_code == 302
    note = PlayerNote.objects.get()
    assert (note.user, note.author, note.text) == (player, support, "Called about a lost spin.")
    audit = AuditLogEntry.objects.get(action="player_note_add")
    assert (audit.actor, audit.target_user) == (support, player)
    assert audit.after == {"note_id": note.pk, "text": "Called about a lost spin."}
    assert "Called about a lost spin." in client.get(page_url(player)).content.decode()


def test_an_empty_note_is_refused_with_400_and_nothing_stored(client):
    player = funded_player(0)
    client.force_login(staff_member(SUPPORT))

    response = client.post(action_url(player, "note"), {"text": "   "})

    assert response.status_code == 400
    assert not PlayerNote.objects.exists()
    assert not AuditLogEntry.objects.exists()


def test_staff_without_a_role_cannot_add_a_note(client):
    player = funded_player(0)
    client.force_login(staff_member(None))

    response = client.post(action_url(player, "note"), {"text": "hello"})

    assert response.status_code == 403
    assert not PlayerNote.objects.exists()


def _bought(player: User) -> Purchase:
    GoldPackFactory(code="pack", gold_amount=5_000, price_cents=4_900)
    purchase = shop_services.shop_buy(player, "pack")
    assert purchase.status == "success"
    return purchase


def test_a_refund_from_the_page_needs_the_refund_permission(client):
    # given a player who bought a gold pack
    player = funded_player(0)
    purchase = _bought(player)
    client.force_login(staff_member(SUPPORT))  # may see purchases, may not refund

    # when support posts a refund
    refused = client.post(action_url(player, "refund"), {"purchase_id": purchase.pk,
                                                         "reason": "asked"})  # fmt: skip

    # then 403 and nothing changes
    purchase.refresh_from_db()
    assert refused.status_code == 403
    assert purchase.status == "success"
    assert balance(player) == 5_000
    assert not AuditLogEntry.objects.exists()


def test_an_administrator_refunds_from_the_page_but_only_the_players_own_purchase(client):
    player = funded_player(0)
    other = funded_player(0)
    purchase = _bought(player)
    admin = staff_member(None, is_superuser=True)
    client.force_login(admin)

    elsewhere = client.post(action_url(other, "refund"), {"purchase_id": purchase.pk,
                                                          "reason": "asked"})  # fmt: skip
    purchase.refresh_from_db()
    assert elsewhere.status_code == 404
    assert purchase.status == "success"

    done = client.post(action_url(player, "refund"), {"purchase_id": purchase.pk,
                                                      "reason": "asked"})  # fmt: skip
    purchase.refresh_from_db()
    assert done.status_code == 302
    assert purchase.status == "refunded"
    assert balance(player) == 0


def test_a_ledger_row_reads_user_delta_balance_after_reason():
    player = funded_player(5_062)
    entry = LedgerEntry.objects.get(wallet_id=player.pk)

    assert str(entry) == f"{player} — +5,062 — 5,062 — Staff grant"


def test_the_user_list_and_change_page_link_to_the_player_page(client):
    player = funded_player(0)
    client.force_login(staff_member(None, is_superuser=True))

    listing = client.get(reverse("admin:accounts_user_changelist")).content.decode()
    change = client.get(reverse("admin:accounts_user_change", args=[player.pk])).content.decode()

    assert f'href="{page_url(player)}"' in listing
    assert f'href="{page_url(player)}"' in change


def test_each_section_needs_its_permission(client):
    # given a staff member who may only view users
    player = funded_player(300)
    staff = staff_member(None)
    staff.user_permissions.add(Permission.objects.get(codename="view_user"))
    client.force_login(staff)

    # when they open a player's page
    html = client.get(page_url(player)).content.decode()

    # then the profile and balance show, but not the ledger, rounds, purchases, audit or notes
    assert '<strong id="player-balance">300 gold</strong>' in html
    for section in ("ledger", "rounds", "purchases", "audit", "notes"):
        assert f'<section id="{section}">' not in html, section
    assert ledger_rows(html) == []
    assert 'id="gold-form"' not in html
    assert 'id="ban-form"' not in html


def test_the_responsible_play_history_lists_the_players_choices_and_staff_extensions(client):
    # given a player who set a purchase limit and cooled off, and a staff extension of it
    player = funded_player(0)
    responsible.purchase_limit_set(player.pk, 5_000)
    block = responsible.cool_off_start(player.pk, "24h")
    staff = staff_member(SUPPORT)
    responsible.staff_block_extend(
        actor=staff,
        user_id=player.pk,
        until=block.blocked_until + timedelta(days=1),
        reason="asked",
    )
    client.force_login(staff)

    # when support opens the player's page
    html = client.get(page_url(player)).content.decode()

    # then the three changes are in the history, each audited with who made it
    section = html[html.index('id="responsible-play"') : html.index('id="bans"')]
    actions = re.findall(r"<td>(responsible_[a-z_]+)</td>", section)
    assert sorted(actions) == [
        "responsible_block_extend",
        "responsible_play_block",
        "responsible_play_limit",
    ]
    assert list(
        AuditLogEntry.objects.filter(target_user=player, action__startswith="responsible_")
        .order_by("pk")
        .values_list("action", "actor_id")
    ) == [
        ("responsible_play_limit", player.pk),
        ("responsible_play_block", player.pk),
        ("responsible_block_extend", staff.pk),
    ]
