"""The game pages show the limits before a click (plays left, reset, bet range), disable play with
the reason, publish the slot's live paytable, and greet a brand-new player as new."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from accounts.services.responsible import cool_off_start
from games.models import DailyPlayCount, GameConfig
from games.selectors import game_config_current
from games.services import slot_spin
from games.tests.factories import funded_player

GAME_PAGES = {
    "slot": ("/play/slot/", ["slot-spin"]),
    "crash": ("/play/crash/", ["crash-bet"]),
    "rps": ("/play/rps/", ["rps-rock", "rps-paper", "rps-scissors"]),
    "gacha": ("/play/gacha/", ["gacha-pull-1", "gacha-pull-10"]),
}


def _client(player) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(player)
    return client


def _button(html: str, test_id: str) -> str:
    found = re.search(rf'<button[^>]*data-testid="{test_id}"[^>]*>', html)
    assert found is not None, test_id
    return found[0]


def _reason(html: str) -> str:
    found = re.search(r'<p class="play-reason"[^>]*data-testid="play-reason"[^>]*>(.*?)</p>', html)
    assert found is not None
    return found[1]


@pytest.mark.django_db
@pytest.mark.parametrize("game", list(GAME_PAGES))
def test_a_game_page_shows_plays_left_the_reset_and_the_bet_range(game):
    # given a player who played the game twice today
    player = funded_player(5_000)
    DailyPlayCount.objects.create(user=player, game=game, day=timezone.localdate(), count=2)
    config = game_config_current(game)
    limit = config.daily_limits["STANDARD"]

    # when they open its page
    html = _client(player).get(GAME_PAGES[game][0]).content.decode()

    # then the count, the reset and an enabled play show
    assert (
        f'<strong data-testid="plays-left" data-value="{limit - 2}">{limit - 2} / {limit}</strong>'
        in html
    )
    assert '<time data-testid="plays-reset" datetime="' in html
    assert ">00:00</time>" in html
    assert _reason(html) == ""
    for test_id in GAME_PAGES[game][1]:
        assert " disabled" not in _button(html, test_id)
    if game != "gacha":
        assert f'min="{config.min_bet}" max="{config.max_bet}"' in html


@pytest.mark.django_db
@pytest.mark.parametrize("game", list(GAME_PAGES))
def test_at_the_daily_limit_the_play_buttons_are_disabled_with_the_reason(game):
    # given a player who used every play of the game today
    player = funded_player(5_000)
    limit = game_config_current(game).daily_limits["STANDARD"]
    DailyPlayCount.objects.create(user=player, game=game, day=timezone.localdate(), count=limit)

    # when they open its page
    html = _client(player).get(GAME_PAGES[game][0]).content.decode()

    # then none are left and every play button is disabled, pointing at the reason
    assert f'data-testid="plays-left" data-value="0">0 / {limit}</strong>' in html
    assert _reason(html).startswith(f"You have played all {limit} rounds of this game today.")
    for test_id in GAME_PAGES[game][1]:
        assert ' disabled aria-describedby="play-reason"' in _button(html, test_id)


@pytest.mark.django_db
def test_during_a_cool_off_the_spin_is_disabled_before_any_click():
    # given a player in a cool-off
    player = funded_player(5_000)
    state = cool_off_start(player.pk, "24h")

    # when they open the slot
    html = _client(player).get("/play/slot/").content.decode()

    # then the spin is disabled and the reason names the cool-off
    assert _reason(html).startswith("Play is paused: your cool-off runs until ")
    assert str(timezone.localtime(state.blocked_until).year) in _reason(html)
    assert ' disabled aria-describedby="play-reason"' in _button(html, "slot-spin")


@pytest.mark.django_db
def test_too_little_gold_for_the_smallest_bet_disables_play_with_the_reason():
    # given a player with less gold than the slot's smallest bet
    min_bet = game_config_current("slot").min_bet
    player = funded_player(min_bet - 1)

    # when they open the slot
    html = _client(player).get("/play/slot/").content.decode()

    # then the spin is disabled and says how much is needed
    assert _reason(html) == (
        f"You need at least {min_bet:,} gold to play (you have {min_bet - 1:,})."
    )
    assert ' disabled aria-describedby="play-reason"' in _button(html, "slot-spin")


@pytest.mark.django_db
def test_the_slot_paytable_comes_from_the_live_configuration():
    # given a new slot version where only cherry and diamond pairs pay
    previous = game_config_current("slot")
    engine = {**previous.engine, "pair": {"CHERRY": 150, "DIAMOND": 500}}
    GameConfig.objects.create(
        game="slot",
        version=previous.version + 1,
        engine=engine,
        daily_limits=previous.daily_limits,
    )
    player = funded_player(5_000)

    # when the player opens the slot
    html = _client(player).get("/play/slot/").content.decode()

    # then the table lists exactly what pays, and says which pairs pay nothing
    rows = re.findall(r'<tr data-kind="(three|pair)" data-symbol="([A-Z]+)">', html)
    assert rows == [
        ("three", "DIAMOND"),
        ("three", "SEVEN"),
        ("three", "BAR"),
        ("three", "BELL"),
        ("three", "CHERRY"),
        ("pair", "DIAMOND"),
        ("three", "LEMON"),
        ("pair", "CHERRY"),
    ]
    assert '<td data-multiplier="500">5×</td>' in html
    assert '<td data-multiplier="150">1.5×</td>' in html
    assert (
        '<strong data-testid="pairs-not-paying">'
        "A pair of lemon, bell, bar or seven pays nothing.</strong>" in html
    )
    assert "pairs pay." not in html


@pytest.mark.django_db
def test_the_default_paytable_says_bell_and_lemon_pairs_pay_nothing():
    html = _client(funded_player(5_000)).get("/play/slot/").content.decode()

    assert (
        '<strong data-testid="pairs-not-paying">A pair of lemon or bell pays nothing.</strong>'
        in html
    )


@pytest.mark.django_db
def test_a_brand_new_player_is_welcomed_not_welcomed_back():
    # given a player who never played, and one who has
    newcomer = funded_player(5_000, nickname="Newcomer")
    regular = funded_player(5_000, nickname="Regular")
    slot_spin(regular, 10)

    # when each opens the home page
    first = _client(newcomer).get("/").content.decode()
    again = _client(regular).get("/").content.decode()

    # then only the regular is welcomed back
    assert '<h1 data-testid="welcome" data-first-visit="true">Welcome, Newcomer</h1>' in first
    assert '<h1 data-testid="welcome" data-first-visit="false">Welcome back, Regular</h1>' in again


@pytest.mark.django_db
def test_the_home_tiles_show_the_plays_left_of_each_game():
    player = funded_player(5_000)
    DailyPlayCount.objects.create(user=player, game="rps", day=timezone.localdate(), count=1)

    html = _client(player).get("/").content.decode()

    assert (
        '<span class="tile-limit" data-testid="tile-plays-left" data-game="rps" data-value="2">'
        "2 / 3 plays left today</span>" in html
    )


@pytest.mark.django_db
def test_the_limits_and_the_paytable_read_in_korean():
    client = _client(funded_player(5_000))
    client.cookies["django_language"] = "ko"

    html = client.get("/play/slot/").content.decode()

    assert "<span>오늘 남은 플레이:</span>" in html
    assert '<h2 id="paytable-title">배당표</h2>' in html
    assert "레몬 또는 종 두 개는 당첨이 아닙니다." in html
    assert "같은 그림 세 개: 다이아몬드" in html
