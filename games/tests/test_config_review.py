"""Game configuration as a reviewed change: a form per game, a draft that is not live, preview,
activation now or later, rollback, four eyes outside the RTP band (docs/decisions/0181)."""

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditLogEntry, User
from accounts.roles import ECONOMY, SUPPORT
from accounts.tests.factories import staff_member
from accounts.tests.test_races import run_together
from games.config_forms import FORMS
from games.models import GameConfig, GameConfigActivation, GameRound
from games.selectors import game_config_current
from games.tests.factories import funded_player
from games.tests.test_api import client_for, post

pytestmark = pytest.mark.django_db


def admin_as(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def draft_form_data(game: str, **changes: Any) -> dict[str, Any]:
    """What the draft form posts when filled from the live version, with ``changes``."""
    form = FORMS[game](base=game_config_current(game))
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form.get_initial_for_field(field, name)
        data[name] = "" if value is None else value
    data["note"] = "a reviewed change"
    data.update(changes)
    return data


def save_draft(client: Client, game: str, **changes: Any) -> Any:
    url = reverse("admin:games_gameconfig_draft", args=[game])
    return client.post(url, {**draft_form_data(game, **changes), "_save": "1"})


def review(client: Client, config: GameConfig, action: str, **fields: Any) -> Any:
    url = reverse("admin:games_gameconfig_review", args=[config.pk])
    return client.post(url, {"action": action, **fields})


def spin(player_client, bet: int) -> dict[str, Any]:
    return post(player_client, "/api/games/slot/spin", {"bet": bet}).json()


def test_a_saved_draft_is_not_live_until_activated_and_then_new_rounds_use_it():
    # given a player who spun on the default version
    player = funded_player(10_000)
    player_client = client_for(player)
    assert spin(player_client, 10)["round"]["config_version"] == 1
    economy = admin_as(staff_member(ECONOMY))

    # when economy staff save a draft raising the minimum bet
    saved = save_draft(economy, "slot", min_bet=20, max_bet=500)

    # then it is stored as v2 but the live version is still v1
    draft = GameConfig.objects.get(game="slot", version=2)
    assert saved.status_code == 302
    assert (draft.min_bet, draft.max_bet, draft.needs_approval) == (20, 500, False)
    assert spin(player_client, 10)["round"]["config_version"] == 1

    # when they activate it now
    activated = review(economy, draft, "activate", activates_at="", reason="go")

    # then new rounds use v2, past rounds keep v1
    assert activated.status_code == 302
    assert spin(player_client, 10)["error"]["code"] == "bet_out_of_range"
    assert spin(player_client, 20)["round"]["config_version"] == 2
    assert list(
        GameRound.objects.filter(user=player)
        .order_by("id")
        .values_list("config__version", flat=True)
    ) == [1, 1, 2]
    assert list(AuditLogEntry.objects.order_by("id").values_list("action", "target")) == [
        ("game_config_draft", "slot v2"),
        ("game_config_activate", "slot v2"),
    ]


def test_a_rollback_makes_new_rounds_use_the_old_version_while_past_rounds_keep_theirs():
    # given v2 live after v1, with rounds played on each
    player = funded_player(10_000)
    player_client = client_for(player)
    first = spin(player_client, 10)["round"]
    economy_staff = staff_member(ECONOMY)
    economy = admin_as(economy_staff)
    save_draft(economy, "slot", min_bet=20, max_bet=500)
    v1 = GameConfig.objects.get(game="slot", version=1)
    v2 = GameConfig.objects.get(game="slot", version=2)
    review(economy, v2, "activate", activates_at="", reason="raise the minimum")
    second = spin(player_client, 20)["round"]
    assert (first["config_version"], second["config_version"]) == (1, 2)

    # when staff roll back to v1 in one action
    response = review(economy, v1, "rollback", reason="complaints")

    # then new rounds use v1 again (a bet of 10 is accepted again) ...
    assert response.status_code == 302
    third = spin(player_client, 10)["round"]
    assert third["config_version"] == 1
    assert game_config_current("slot").pk == v1.pk
    # ... and past rounds keep the version they used
    versions = dict(GameRound.objects.filter(user=player).values_list("id", "config__version"))
    assert versions == {first["id"]: 1, second["id"]: 2, third["id"]: 1}
    rollback = AuditLogEntry.objects.get(action="game_config_rollback")
    assert (rollback.actor, rollback.target, rollback.reason) == (
        economy_staff,
        "slot v1",
        "complaints",
    )
    assert (rollback.before["version"], rollback.after["version"]) == (2, 1)
    assert GameConfigActivation.objects.filter(config=v1, is_rollback=True).count() == 1


def test_a_rollback_needs_an_older_version_than_the_live_one():
    economy = admin_as(staff_member(ECONOMY))
    save_draft(economy, "slot", min_bet=20)
    v2 = GameConfig.objects.get(game="slot", version=2)

    response = review(economy, v2, "rollback", reason="not older")

    assert response.status_code == 400
    assert game_config_current("slot").version == 1
    assert not AuditLogEntry.objects.filter(action="game_config_rollback").exists()


def test_an_activation_at_a_set_time_takes_effect_then_and_not_before():
    player_client = client_for(funded_player(10_000))
    economy = admin_as(staff_member(ECONOMY))
    save_draft(economy, "slot", min_bet=20)
    v2 = GameConfig.objects.get(game="slot", version=2)
    # minutes ahead (the player's access token outlives the wait)
    at = timezone.localtime(timezone.now() + timedelta(minutes=3)).replace(second=0, microsecond=0)

    response = review(economy, v2, "activate", activates_at=at.strftime("%Y-%m-%d %H:%M"))

    assert response.status_code == 302
    assert GameConfigActivation.objects.get(config=v2).activates_at == at
    listing = economy.get(reverse("admin:games_gameconfig_changelist")).content.decode()
    assert f'<td class="field-state">scheduled {at:%Y-%m-%d %H:%M}</td>' in listing
    assert spin(player_client, 10)["round"]["config_version"] == 1
    with time_machine.travel(at + timedelta(seconds=1)):
        assert spin(player_client, 20)["round"]["config_version"] == 2


def test_a_scheduled_activation_can_be_cancelled_before_its_time():
    economy = admin_as(staff_member(ECONOMY))
    save_draft(economy, "slot", min_bet=20)
    v2 = GameConfig.objects.get(game="slot", version=2)
    at = timezone.localtime(timezone.now() + timedelta(hours=2))
    review(economy, v2, "activate", activates_at=at.strftime("%Y-%m-%d %H:%M"))
    activation = GameConfigActivation.objects.get(config=v2)

    response = review(economy, v2, "cancel", activation_id=activation.pk)

    activation.refresh_from_db()
    assert response.status_code == 302
    assert activation.cancelled_at is not None
    with time_machine.travel(at + timedelta(minutes=1)):
        assert game_config_current("slot").version == 1


def test_an_activation_time_in_the_past_is_refused():
    economy = admin_as(staff_member(ECONOMY))
    save_draft(economy, "slot", min_bet=20)
    v2 = GameConfig.objects.get(game="slot", version=2)
    past = timezone.localtime(timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")

    response = review(economy, v2, "activate", activates_at=past)

    assert response.status_code == 400
    assert not GameConfigActivation.objects.filter(config=v2).exists()
    assert game_config_current("slot").version == 1


def test_an_out_of_band_rtp_needs_a_second_staff_members_approval(settings):
    # given a band of 85-99% and an author who may also approve
    settings.GAME_CONFIG_RTP_BAND = (85.0, 99.0)
    author = staff_member(None, is_superuser=True)
    approver = staff_member(None, is_superuser=True)
    # when the author drafts a stingy RPS (a win pays 1.50x: RTP 83.33%)
    saved = save_draft(admin_as(author), "rps", win_multiplier_x100=150)
    draft = GameConfig.objects.get(game="rps", version=2)
    assert saved.status_code == 302
    assert draft.needs_approval is True

    # then it cannot be activated, and its author cannot approve it
    refused = review(admin_as(author), draft, "activate", activates_at="")
    own_approval = review(admin_as(author), draft, "approve")
    draft.refresh_from_db()
    assert (refused.status_code, own_approval.status_code) == (400, 400)
    assert draft.approved_by is None
    assert not GameConfigActivation.objects.filter(config=draft).exists()
    assert game_config_current("rps").version == 1

    # when a second staff member approves, the author can activate it
    approved = review(admin_as(approver), draft, "approve")
    activated = review(admin_as(author), draft, "activate", activates_at="")

    draft.refresh_from_db()
    assert (approved.status_code, activated.status_code) == (302, 302)
    assert draft.approved_by == approver
    assert game_config_current("rps").version == 2
    assert list(AuditLogEntry.objects.order_by("id").values_list("action", "actor")) == [
        ("game_config_draft", author.pk),
        ("game_config_approve", approver.pk),
        ("game_config_activate", author.pk),
    ]


def test_an_in_band_rtp_needs_no_approval(settings):
    settings.GAME_CONFIG_RTP_BAND = (85.0, 99.0)
    economy = admin_as(staff_member(ECONOMY))

    save_draft(economy, "rps", win_multiplier_x100=190)  # RTP 96.67%

    draft = GameConfig.objects.get(game="rps", version=2)
    assert draft.needs_approval is False
    assert review(economy, draft, "activate", activates_at="").status_code == 302
    assert game_config_current("rps").version == 2


def test_economy_staff_cannot_approve_and_support_cannot_draft_or_activate(settings):
    settings.GAME_CONFIG_RTP_BAND = (85.0, 99.0)
    author = admin_as(staff_member(None, is_superuser=True))
    save_draft(author, "rps", win_multiplier_x100=150)
    draft = GameConfig.objects.get(game="rps", version=2)
    support = admin_as(staff_member(SUPPORT))
    economy = admin_as(staff_member(ECONOMY))

    assert review(economy, draft, "approve").status_code == 403
    assert save_draft(support, "slot", min_bet=20).status_code == 403
    assert review(support, draft, "activate", activates_at="").status_code == 403
    draft.refresh_from_db()
    assert draft.approved_by is None
    assert not GameConfig.objects.filter(game="slot").exclude(version=1).exists()
    assert not GameConfigActivation.objects.filter(config=draft).exists()


def test_the_preview_shows_the_drafts_odds_next_to_the_live_version_with_the_diff():
    economy = admin_as(staff_member(ECONOMY))
    url = reverse("admin:games_gameconfig_draft", args=["rps"])

    response = economy.post(url, {**draft_form_data("rps", win_multiplier_x100=190),
                                  "_preview": "1"})  # fmt: skip

    html = response.content.decode()
    assert response.status_code == 200
    assert '<td id="draft-rtp">96.67%</td>' in html
    assert "<td>98.67%</td>" in html  # the live version's RTP beside it
    assert "<td><code>engine.win_multiplier_x100</code></td><td>196</td><td>190</td>" in html
    assert not GameConfig.objects.filter(game="rps", version=2).exists()  # a preview saves nothing


def test_the_slot_form_edits_reels_and_paytable_without_json():
    economy = admin_as(staff_member(ECONOMY))
    live = game_config_current("slot")
    form = FORMS["slot"](base=live)
    row = next(r for r in range(form.rows) if form.initial.get(f"symbol_{r}") == "DIAMOND")

    saved = save_draft(economy, "slot", **{f"triple_{row}": 20000, f"reel3_{row}": 5})

    draft = GameConfig.objects.get(game="slot", version=2)
    assert saved.status_code == 302
    assert draft.engine["three_of_a_kind"]["DIAMOND"] == 20000
    assert ["DIAMOND", 5] in draft.engine["reels"][2]
    assert draft.engine["reels"][:2] == live.engine["reels"][:2]


def test_an_invalid_draft_is_refused_with_the_form_and_nothing_stored():
    economy = admin_as(staff_member(ECONOMY))
    live = game_config_current("slot")
    form = FORMS["slot"](base=live)
    cleared = {f"reel1_{row}": "" for row in range(form.rows)}  # reel 1 left empty

    response = save_draft(economy, "slot", **cleared)

    assert response.status_code == 400
    assert "Invalid configuration" in response.content.decode()
    assert GameConfig.objects.filter(game="slot").count() == 1
    assert not AuditLogEntry.objects.exists()


def test_the_version_list_and_review_page_show_each_versions_state_and_rtp():
    economy = admin_as(staff_member(ECONOMY))
    save_draft(economy, "rps", win_multiplier_x100=190)
    draft = GameConfig.objects.get(game="rps", version=2)

    listing = economy.get(reverse("admin:games_gameconfig_changelist")).content.decode()
    page = economy.get(reverse("admin:games_gameconfig_change", args=[draft.pk]))

    assert re.search(
        r'<td class="field-state">live</td><td class="field-rtp">98\.67%</td>', listing
    )
    assert re.search(
        r'<td class="field-state">draft</td><td class="field-rtp">96\.67%</td>', listing
    )
    assert page.status_code == 200
    assert '<td id="config-state">draft</td>' in page.content.decode()
    assert "Activate v2" in page.content.decode()


@pytest.mark.django_db(transaction=True)
def test_concurrent_drafts_of_one_game_get_consecutive_versions_and_stay_drafts():
    # given v1 live and four staff members saving drafts at the same instant
    game_config_current("rps")
    authors = [staff_member(ECONOMY) for _ in range(4)]

    def draft(index: int) -> int:
        saved = save_draft(admin_as(authors[index]), "rps", win_multiplier_x100=180 + index)
        return saved.status_code

    # when they all save
    statuses = run_together(4, draft)

    # then each draft is its own version, none of them live
    assert statuses == [302, 302, 302, 302]
    drafts = GameConfig.objects.filter(game="rps").exclude(version=1)
    assert sorted(drafts.values_list("version", flat=True)) == [2, 3, 4, 5]
    assert sorted(drafts.values_list("engine__win_multiplier_x100", flat=True)) == [180, 181, 182,
                                                                                    183]  # fmt: skip
    assert game_config_current("rps").version == 1
    assert AuditLogEntry.objects.filter(action="game_config_draft").count() == 4


@pytest.mark.parametrize("game", ["slot", "gacha", "crash", "rps"])
def test_each_games_form_saved_unchanged_reproduces_the_live_configuration(game):
    economy = admin_as(staff_member(ECONOMY))
    live = game_config_current(game)

    saved = save_draft(economy, game)

    draft = GameConfig.objects.get(game=game, version=2)
    assert saved.status_code == 302
    assert (draft.engine, draft.min_bet, draft.max_bet, draft.daily_limits) == (
        live.engine,
        live.min_bet,
        live.max_bet,
        live.daily_limits,
    )
