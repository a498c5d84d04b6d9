"""XP and achievements from rounds played through the API, purchases and claims."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction

from accounts.models import User
from accounts.selectors import ledger_violations
from accounts.tests.test_races import run_together
from casinoclub import domain_events
from casinoclub.realtime.models import RealtimeMessage
from casinoclub.tests.projection_helpers import caught_up, logged
from games.tests.factories import funded_player
from gamification import services
from gamification.models import AchievementUnlock, PlayerProgress
from gamification.tests.factories import AchievementFactory, SeasonFactory
from gamification.tests.helpers import balance, client_of, ledger, post


def spin(client, bet=100, key=None):
    response = post(client, "/api/games/slot/spin", {"bet": bet}, key=key)
    assert response.status_code == 200, response.content
    return response.json()["round"]


def messages(user, message_type):
    """Achievement messages: their own type, or folded into a batch's ``progress_update``."""
    state = "unlocked" if message_type == "achievement_unlock" else "progress"
    found = []
    for kind, data in (
        RealtimeMessage.objects.filter(user=user, type__in=[message_type, "progress_update"])
        .order_by("seq")
        .values_list("type", "data")
    ):
        if kind == message_type:
            found.append(data)
        else:
            found.extend(a for a in data.get("achievements", []) if a["state"] == state)
    return found


@pytest.fixture
def player(no_achievements):
    return funded_player(10_000)


@pytest.mark.django_db
def test_a_round_counts_and_gives_a_tenth_of_the_bet_as_xp(player):
    round_ = spin(client_of(player), bet=100)

    progress = PlayerProgress.objects.get(user=player)
    assert (progress.rounds_played, progress.total_bet, progress.total_won) == (
        1,
        100,
        round_["payout"],
    )
    assert progress.best_multiplier_x100 == round(round_["multiplier"] * 100)
    assert User.objects.get(pk=player.pk).experience == 10
    assert AchievementUnlock.objects.count() == 0


@pytest.mark.django_db
def test_rounds_unlock_an_achievement_once_and_pay_it_through_the_ledger(player):
    AchievementFactory(code="first_spin", threshold=1, reward_gold=500, reward_xp=5)
    client = client_of(player)
    rounds = [spin(client, bet=100) for _ in range(3)]
    announced = logged("reward_claimed")

    unlock = AchievementUnlock.objects.get(user=player)
    assert (unlock.achievement.code, unlock.value) == ("first_spin", 1)
    assert ledger(player, "achievement_reward") == [(500, "achievement_reward")]
    assert balance(player) == 10_000 - 300 + sum(r["payout"] for r in rounds) + 500
    assert User.objects.get(pk=player.pk).experience == 3 * 10 + 5
    assert [m["code"] for m in messages(player, "achievement_unlock")] == ["first_spin"]
    assert announced == [
        domain_events.RewardClaimed(user_id=player.pk, source="achievement", gold=500)
    ]
    assert ledger_violations() == []


@pytest.mark.django_db
def test_progress_messages_are_sent_only_when_a_tenth_is_crossed(player):
    AchievementFactory(code="twenty_rounds", threshold=20, reward_gold=100)
    client = client_of(player)

    for _ in range(5):
        spin(client, bet=10)

    assert [
        (m["code"], m["value"], m["progress_percent"])
        for m in messages(player, "achievement_progress")
    ] == [("twenty_rounds", 2, 10), ("twenty_rounds", 4, 20)]
    assert not AchievementUnlock.objects.exists()


@pytest.mark.django_db
def test_catalog_and_my_progress(player):
    AchievementFactory(
        code="first_spin", name="First spin", threshold=1, reward_gold=50, display_order=1
    )
    AchievementFactory(
        code="big_bets", name="Big bets", metric="cumulative_bet", threshold=1000, display_order=2
    )
    AchievementFactory(code="retired", is_active=False)
    client = client_of(player)
    spin(client, bet=250)

    catalog = client.get("/api/achievements/").json()
    mine = {row["code"]: row for row in client.get("/api/achievements/me").json()}

    assert catalog == [
        {
            "code": "first_spin",
            "name": "First spin",
            "description": "",
            "metric": "games_played",
            "threshold": 1,
            "reward_gold": 50,
            "reward_xp": 0,
        },
        {
            "code": "big_bets",
            "name": "Big bets",
            "description": "",
            "metric": "cumulative_bet",
            "threshold": 1000,
            "reward_gold": 0,
            "reward_xp": 0,
        },
    ]
    assert set(mine) == {"first_spin", "big_bets"}
    assert (mine["first_spin"]["unlocked"], mine["first_spin"]["progress_percent"]) == (True, 100)
    assert mine["first_spin"]["unlocked_at"] is not None
    assert (mine["big_bets"]["value"], mine["big_bets"]["progress_percent"]) == (250, 25)
    assert (mine["big_bets"]["unlocked"], mine["big_bets"]["unlocked_at"]) == (False, None)


@pytest.mark.django_db
def test_win_streak_and_multiplier_counters_follow_the_rounds(player):
    AchievementFactory(code="hot_hand", metric="win_streak", threshold=3, reward_gold=70)
    outcomes = [(10, 20, 200), (10, 30, 300), (10, 0, 0), (10, 20, 200), (10, 15, 150)]

    for bet, payout, multiplier in outcomes:
        with transaction.atomic():
            services.round_progress_record(
                player.pk, game="slot", bet=bet, payout=payout, multiplier_x100=multiplier
            )

    progress = PlayerProgress.objects.get(user=player)
    assert (progress.current_win_streak, progress.best_win_streak) == (2, 2)
    assert progress.best_multiplier_x100 == 300
    assert (progress.total_bet, progress.total_won) == (50, 85)
    assert not AchievementUnlock.objects.exists()

    with transaction.atomic():
        services.round_progress_record(
            player.pk, game="rps", bet=10, payout=20, multiplier_x100=196
        )

    assert AchievementUnlock.objects.get(user=player).achievement.code == "hot_hand"
    assert ledger(player, "achievement_reward") == [(70, "achievement_reward")]


@pytest.mark.django_db
def test_a_purchase_counts_and_unlocks_the_purchase_achievement(player):
    AchievementFactory(code="supporter", metric="purchases", threshold=1, reward_xp=50)
    event = domain_events.PurchaseSucceeded(
        user_id=player.pk,
        receipt="R1",
        flow="gold_pack",
        product_code="pack",
        price_cents=0,
        price_gold=0,
        gold=0,
    )

    with transaction.atomic():
        domain_events.domain_event_record(event)
    caught_up()

    assert PlayerProgress.objects.get(user=player).purchases == 1
    assert AchievementUnlock.objects.get(user=player).achievement.code == "supporter"
    assert User.objects.get(pk=player.pk).experience == 50


@pytest.mark.django_db
def test_streak_claims_unlock_the_streak_achievement(player, streak_rewards, settings):
    settings.TIME_ZONE = "Asia/Seoul"
    AchievementFactory(code="two_days", metric="streak_days", threshold=2, reward_gold=300)

    for day in (1, 2, 3):
        with time_machine.travel(datetime(2025, 1, day, 12, tzinfo=ZoneInfo("Asia/Seoul"))):
            assert post(client_of(player), "/api/streak/claim").status_code == 200

    assert AchievementUnlock.objects.get(user=player).value == 2
    assert ledger(player, "achievement_reward") == [(300, "achievement_reward")]


@pytest.mark.django_db
def test_a_new_achievement_the_player_already_reached_unlocks_on_the_next_round(player):
    client = client_of(player)
    spin(client, bet=10)
    AchievementFactory(code="late", threshold=1, reward_gold=40)

    spin(client, bet=10)

    assert AchievementUnlock.objects.get(user=player).value == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_rounds_unlock_an_achievement_exactly_once(no_achievements):
    player = funded_player(100_000)
    AchievementFactory(code="three_rounds", threshold=3, reward_gold=1000, reward_xp=7)

    statuses = run_together(
        8,
        lambda index: (
            post(
                client_of(player), "/api/games/slot/spin", {"bet": 10}, key=f"race-ach-{index:03d}"
            ).status_code
        ),
    )

    assert statuses == [200] * 8
    assert AchievementUnlock.objects.filter(user=player).count() == 1
    assert ledger(player, "achievement_reward") == [(1000, "achievement_reward")]
    assert PlayerProgress.objects.get(user=player).rounds_played == 8
    assert User.objects.get(pk=player.pk).experience == 8 * 1 + 7
    assert len(messages(player, "achievement_unlock")) == 1
    assert ledger_violations() == []


@pytest.mark.django_db
def test_the_round_hook_runs_a_bounded_number_of_queries(player, django_assert_num_queries):
    SeasonFactory()
    AchievementFactory(code="far_away", threshold=1000)
    with transaction.atomic():
        services.round_progress_record(player.pk, game="slot", bet=10, payout=0, multiplier_x100=0)

    # the progression batch of one round: locks (wallet, progress row, user row), active
    # achievements, the player's unlocks, seasons; writes (progress upsert, user update, stored
    # profile_update, season XP upsert, stored progress_update); + this block's savepoint (2)
    with django_assert_num_queries(13), transaction.atomic():
        services.round_progress_record(player.pk, game="slot", bet=10, payout=0, multiplier_x100=0)


@pytest.mark.django_db
def test_progress_reads_in_the_players_units(player):
    # given a player with 25 rounds and a best multiplier of 12× (stored ×100), 250 gold bet
    AchievementFactory(code="first_round", metric="games_played", threshold=1, display_order=1)
    AchievementFactory(
        code="ten_times", metric="biggest_multiplier", threshold=1000, display_order=2
    )
    AchievementFactory(code="big_bets", metric="cumulative_bet", threshold=1000, display_order=3)
    PlayerProgress.objects.update_or_create(
        user=player,
        defaults={"rounds_played": 25, "best_multiplier_x100": 1200, "total_bet": 250},
    )

    # when the player reads their achievements
    mine = {row["code"]: row for row in client_of(player).get("/api/achievements/me").json()}

    # then counts stop at their target and the multiplier reads in ×
    shown = {
        code: (row["unit"], row["progress_value"], row["progress_target"])
        for code, row in mine.items()
    }
    assert shown == {
        "first_round": ("count", 1, 1),
        "ten_times": ("multiplier", 12.0, 10.0),
        "big_bets": ("gold", 250, 1000),
    }
    assert (mine["first_round"]["value"], mine["ten_times"]["value"]) == (25, 1200)
