"""check_projections and rebuild_projection over a mixed workload of rounds and purchases."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import LedgerEntry, ResponsiblePlay, User
from casinoclub import domain_events
from casinoclub.models import ProjectionCursor
from casinoclub.realtime.models import RealtimeMessage
from casinoclub.tests.projection_helpers import caught_up
from events.models import EventParticipation, MissionProgress
from events.tests.factories import EventFactory
from games.models import LeaderboardEntry, PlayerGameStats
from games.tests.factories import funded_player
from gamification.models import AchievementUnlock, PlayerProgress, SeasonProgress
from gamification.tests.factories import AchievementFactory, SeasonFactory
from gamification.tests.helpers import client_of, post
from shop import services as shop_services
from shop.models import Purchase
from shop.tests.factories import GoldPackFactory

pytestmark = pytest.mark.django_db


def check() -> tuple[int, str]:
    output = io.StringIO()
    try:
        call_command("check_projections", stdout=output)
    except SystemExit as exit_:
        return int(exit_.code or 0), output.getvalue()
    return 0, output.getvalue()


def stats_state() -> list[tuple]:
    return list(
        PlayerGameStats.objects.order_by("user_id", "game").values_list(
            "user_id", "game", "plays", "wins", "losses", "ties", "total_bet", "total_won",
            "max_win", "max_multiplier_x100", "current_win_streak", "best_win_streak",
            "gacha_pity",
        )
    )  # fmt: skip


def boards_state() -> list[tuple]:
    return list(
        LeaderboardEntry.objects.order_by("period", "period_start", "user_id").values_list(
            "period", "period_start", "user_id", "net_win", "best_multiplier_x100", "rounds"
        )
    )


@pytest.fixture
def workload(db):  # type: ignore[no-untyped-def]
    """Two players: slot spins, rps hands and gacha pulls; a pack bought and one refunded; a
    running season and an event the first player joined; each claims the daily streak (which
    reaches a streak achievement) and the VIP reward."""
    SeasonFactory()
    AchievementFactory(code="first_streak", metric="streak_days", threshold=1, reward_gold=50)
    first, second = funded_player(50_000), funded_player(50_000)
    event = EventFactory(requirement_type="plays", target=100)
    EventParticipation.objects.create(user=first, event=event, joined_at=event.starts_at)
    GoldPackFactory(code="pack", gold_amount=1000)
    for player in (first, second):
        client = client_of(player)
        for bet in (10, 20, 30, 40, 50):
            assert post(client, "/api/games/slot/spin", {"bet": bet}).status_code == 200
        assert post(client, "/api/games/rps/play", {"bet": 10, "choice": "rock"}).status_code == 200
        assert post(client, "/api/games/gacha/pull", {"count": 1}).status_code == 200
        assert post(client, "/api/streak/claim").status_code == 200
        assert post(client, "/api/vip/claim").status_code == 200
    bought = shop_services.shop_buy(first, "pack")
    shop_services.shop_buy(second, "pack")
    staff = funded_player(0, is_staff=True, is_superuser=True)
    shop_services.purchase_refund(bought.pk, actor=staff, reason="refund")
    return first, second


def test_check_projections_is_clean_after_a_mixed_workload(workload):
    first, second = workload
    code, output = check()

    assert code == 0, output
    assert "game_stats: OK" in output
    assert "leaderboards: OK" in output
    assert "progression: OK" in output
    assert "play_sessions: OK" in output
    assert PlayerGameStats.objects.filter(game="slot").count() == 2
    # the claims' progression came from their events: best streak, the streak achievement paid
    for player in (first, second):
        assert PlayerProgress.objects.get(user=player).best_streak_days == 1
        assert AchievementUnlock.objects.filter(
            user=player, achievement__code="first_streak"
        ).exists()
        assert (
            LedgerEntry.objects.filter(
                wallet_id=player.pk, idempotency_key="achievement:first_streak"
            ).count()
            == 1
        )


def _corrupt_progression_counters(first):
    PlayerProgress.objects.filter(user=first).update(best_win_streak=99)


def _corrupt_progression_xp(first):
    User.objects.filter(pk=first.pk).update(experience=F("experience") + 3)


def _corrupt_season_xp(first):
    SeasonProgress.objects.filter(user=first).update(xp=F("xp") + 1)


def _corrupt_achievements(first):
    AchievementUnlock.objects.create(
        user=first, achievement=AchievementFactory(code="far", threshold=10_000), value=10_000
    )


def _corrupt_missions(first):
    MissionProgress.objects.filter(user=first).update(progress=F("progress") + 1)


def _corrupt_events(first):
    EventParticipation.objects.filter(user=first).update(progress=0)


def _corrupt_play_sessions(first):
    ResponsiblePlay.objects.filter(user=first).update(session_started_at=timezone.now())


def _corrupt_purchase_reviews(first):
    purchase = Purchase.objects.filter(user=first).order_by("pk").first()
    with transaction.atomic():
        domain_events.domain_event_record(
            domain_events.PurchaseReviewFlagged(
                user_id=first.pk, receipt=purchase.receipt, reasons=("mission_reward_claimed",)
            )
        )
    caught_up()
    Purchase.objects.filter(pk=purchase.pk).update(needs_review=False, review_reasons=[])


@pytest.mark.parametrize(
    ("corrupt", "named"),
    [
        (_corrupt_progression_counters, "progression user {first} counters"),
        (_corrupt_progression_xp, "progression user {first} XP"),
        (_corrupt_season_xp, "progression season XP (user, season) ({first},"),
        (_corrupt_achievements, "progression user {first} achievement far"),
        (_corrupt_missions, "event_progress mission (user, mission, period) ({first},"),
        (_corrupt_events, "event_progress event (user, event) ({first},"),
        (_corrupt_play_sessions, "play_sessions user {first}"),
        (_corrupt_purchase_reviews, "purchase_reviews "),
    ],
)
def test_a_corrupted_row_of_each_projection_fails_the_check_and_names_it(workload, corrupt, named):
    # given a clean check after the workload
    first, _second = workload
    assert check()[0] == 0

    # when one projection's state is corrupted
    corrupt(first)
    messages = RealtimeMessage.objects.count()

    # then the check fails and names that projection and the row, and sends nothing
    code, output = check()
    assert RealtimeMessage.objects.count() == messages
    assert code == 1
    assert named.format(first=first.pk) in output
    projection = named.split(" ")[0]
    assert f"{projection}: " in output
    assert f"{projection}: OK" not in output


def test_a_tampered_row_makes_check_projections_fail(workload):
    first, _second = workload
    PlayerGameStats.objects.filter(user=first, game="slot").update(plays=999)
    LeaderboardEntry.objects.filter(user=first, period="weekly").update(rounds=1)

    code, output = check()

    assert code == 1
    assert f"game_stats ({first.pk}, 'slot')" in output
    assert "leaderboards ('weekly'" in output
    assert "2 projection difference(s)" in output


def test_rebuild_gives_the_same_state_and_repairs_a_tampered_row(workload):
    # given the projected state and then a tampered stats row and leaderboard row
    first, _second = workload
    check()
    stats, boards = stats_state(), boards_state()
    PlayerGameStats.objects.filter(user=first, game="slot").update(plays=999, best_win_streak=77)
    LeaderboardEntry.objects.filter(user=first).delete()

    # when both projections are rebuilt from zero
    call_command("rebuild_projection", "game_stats", stdout=io.StringIO())
    call_command("rebuild_projection", "leaderboards", stdout=io.StringIO())

    # then the state is exactly what the batches had built, and the check is clean
    assert stats_state() == stats
    assert boards_state() == boards
    assert check()[0] == 0
    assert ProjectionCursor.objects.filter(name="game_stats", last_event_id__gt=0).count() == 1


@pytest.mark.parametrize(
    ("corrupt", "name"),
    [
        (_corrupt_progression_counters, "progression"),
        (_corrupt_progression_xp, "progression"),
        (_corrupt_season_xp, "progression"),
        (_corrupt_missions, "event_progress"),
        (_corrupt_events, "event_progress"),
        (_corrupt_play_sessions, "play_sessions"),
        (_corrupt_purchase_reviews, "purchase_reviews"),
    ],
)
def test_rebuilding_a_projection_that_pays_rewards_repairs_it_and_pays_or_sends_nothing(
    workload, corrupt, name
):
    # given a corrupted row of a projection that pays rewards or sends messages, once every
    # event is applied
    first, _second = workload
    assert check()[0] == 0
    corrupt(first)
    assert check()[0] == 1
    ledger = LedgerEntry.objects.count()
    messages = RealtimeMessage.objects.count()

    # when it is rebuilt
    output = io.StringIO()
    call_command("rebuild_projection", name, stdout=output)

    # then the state agrees with the log again, and no gold moved and no message was sent
    assert f"{name}: recomputed from the log, " in output.getvalue()
    code, after = check()
    assert code == 0, after
    assert LedgerEntry.objects.count() == ledger
    assert RealtimeMessage.objects.count() == messages


def test_a_rebuild_of_a_clean_projection_changes_nothing_and_an_unknown_name_is_refused(workload):
    output = io.StringIO()
    call_command("rebuild_projection", "progression", stdout=output)
    assert "0 row(s) repaired" in output.getvalue()
    with pytest.raises(CommandError, match="unknown projection"):
        call_command("rebuild_projection", "nope")


def _repartition(partitions: int) -> tuple[int, str]:
    output = io.StringIO()
    try:
        call_command("repartition_projections", str(partitions), stdout=output)
    except SystemExit as exit_:
        return int(exit_.code or 0), output.getvalue()
    return 0, output.getvalue()


def test_repartitioning_moves_every_cursor_to_the_common_end_and_nothing_is_lost(
    workload, settings
):
    # given the workload applied with one partition
    first, second = workload

    # when the projections move to three partitions and the setting follows
    code, output = _repartition(3)
    settings.PROJECTION_PARTITIONS = 3

    # then every projection has three cursors at one position
    assert code == 0, output
    for name in ("game_stats", "progression", "event_progress"):
        cursors = ProjectionCursor.objects.filter(name=name).order_by("partition")
        assert [cursor.partition for cursor in cursors] == [0, 1, 2]
        assert {cursor.partitions for cursor in cursors} == {3}
        assert len({(c.last_transaction_id, c.last_event_id) for c in cursors}) == 1

    # and rounds played afterwards are applied once each by their new partitions
    for player in (first, second):
        assert post(client_of(player), "/api/games/slot/spin", {"bet": 10}).status_code == 200
    assert check()[0] == 0
    assert PlayerGameStats.objects.get(user=first, game="slot").plays == 6
    assert PlayerProgress.objects.get(user=second).rounds_played == 8


def test_repartitioning_is_refused_while_a_partition_is_behind(workload, settings, monkeypatch):
    # given two partitions where only one has applied the newest rounds
    from casinoclub import projections

    first, second = workload
    check()
    assert _repartition(2)[0] == 0
    settings.PROJECTION_PARTITIONS = 2
    odd, even = (first, second) if first.pk % 2 else (second, first)
    monkeypatch.setattr(projections, "projections_run", lambda *a, **k: 0)  # no catch-up
    for player in (even, odd):
        _round_logged(player)
    projections.projection_batch_apply("game_stats", odd.pk % 2)
    cursors_before = list(ProjectionCursor.objects.order_by("name", "partition").values())

    # when the projections are moved to three partitions
    code, output = _repartition(3)

    # then it is refused, names the partition behind, and every cursor stays as it was
    assert code == 1
    assert f"'game_stats' partition {even.pk % 2} has not applied event" in output
    assert list(ProjectionCursor.objects.order_by("name", "partition").values()) == cursors_before


def _round_logged(player: User) -> None:
    with transaction.atomic():
        domain_events.domain_event_record(
            domain_events.RoundSettled(
                user_id=player.pk, round_id=0, game="slot", bet=10, payout=0, multiplier_x100=0
            )
        )
