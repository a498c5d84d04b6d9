"""Missions: progress derived from real rounds, purchases and streak claims; claims pay once."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from prometheus_client import REGISTRY

from accounts.models import LedgerEntry, LedgerReason
from casinoclub import domain_events
from casinoclub.tests.projection_helpers import caught_up
from events.models import Mission, MissionProgress
from events.tests.factories import MissionFactory
from events.tests.helpers import (
    balance,
    client_of,
    experience,
    ledger_count,
    play_rps,
    post,
    progress_messages,
    spin,
)
from games.tests.factories import funded_player
from shop.services import shop_buy
from shop.tests.factories import GoldPackFactory, ItemFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_default_missions")]

SEOUL = ZoneInfo("Asia/Seoul")


def claim(client, mission, key=None):
    return post(client, f"/api/events/missions/claim/{mission.pk}", key=key)


def missions(client, period="all"):
    response = client.get(f"/api/events/missions/{period}")
    assert response.status_code == 200
    return {item["code"]: item for item in response.json()["missions"]}


def requests_counted(route, result) -> float:
    labels = {"route": route, "result": result}
    return REGISTRY.get_sample_value("event_mission_requests_total", labels) or 0.0


def test_slot_spins_through_the_api_complete_a_mission_and_its_claim_pays_gold_and_xp_once():
    player = funded_player(10_000)
    client = client_of(player)
    mission = MissionFactory(code="spin3", game="slot", target=3, reward_gold=250, reward_xp=40)
    for _ in range(3):
        spin(client)

    listed = missions(client, "daily")["spin3"]
    assert (listed["progress"], listed["progress_version"]) == (3, 3)
    assert (listed["completed"], listed["claimed"], listed["claimable"]) == (True, False, True)
    gold, entries, (level, xp) = balance(player), ledger_count(player), experience(player)
    ok_before = requests_counted("missions_claim", "ok")

    response = claim(client, mission, key="claim-spin3-first")

    assert response.status_code == 200
    body = response.json()
    assert body["reward"] == {"gold": 250, "xp": 40}
    assert body["balance"] == gold + 250 == balance(player)
    assert (body["mission"]["claimed"], body["mission"]["claimable"]) == (True, False)
    assert experience(player) == (level, xp + 40)
    today = timezone.localdate().isoformat()
    reward = LedgerEntry.objects.get(wallet_id=player.pk, reason=LedgerReason.MISSION_REWARD)
    assert (reward.delta, reward.idempotency_key) == (250, f"mission:{mission.pk}:{today}")
    assert ledger_count(player) == entries + 1
    assert requests_counted("missions_claim", "ok") == ok_before + 1
    assert progress_messages(player)[-1] == {
        "kind": "claimed",
        "items": [
            {
                "scope": "mission",
                "id": mission.pk,
                "period": "daily",
                "period_start": today,
                "progress": 3,
                "target": 3,
                "progress_version": 3,
                "completed": True,
                "claimed": True,
                "expired": False,
            }
        ],
    }

    again = claim(client, mission)
    replayed = claim(client, mission, key="claim-spin3-first")

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_claimed"
    assert replayed.status_code == 200
    assert replayed["Idempotent-Replayed"] == "true"
    assert replayed.content == response.content
    assert balance(player) == gold + 250
    assert ledger_count(player) == entries + 1
    assert experience(player) == (level, xp + 40)
    assert requests_counted("missions_claim", "replayed") >= 1


def test_claiming_before_completion_is_409_and_changes_nothing():
    player = funded_player(10_000)
    client = client_of(player)
    mission = MissionFactory(target=3)
    spin(client)
    spin(client)
    row = MissionProgress.objects.get(user=player, mission=mission)
    before = (balance(player), ledger_count(player), experience(player), progress_messages(player))

    response = claim(client, mission)

    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "not_completed",
        "message": "The requirement is not completed yet.",
        "details": {"progress": 2, "target": 3},
    }
    assert (
        balance(player),
        ledger_count(player),
        experience(player),
        progress_messages(player),
    ) == before
    row.refresh_from_db()
    assert (row.progress, row.progress_version, row.completed_at, row.claimed_at) == (
        2,
        2,
        None,
        None,
    )


def test_claiming_without_any_progress_or_an_unknown_mission_changes_nothing():
    player = funded_player(10_000)
    client = client_of(player)
    mission = MissionFactory()
    inactive = MissionFactory(is_active=False)
    before = (balance(player), ledger_count(player), experience(player))

    untouched = claim(client, mission)
    unknown = claim(client, Mission(pk=999_999))
    hidden = claim(client, inactive)

    assert untouched.status_code == 409
    assert untouched.json()["error"]["details"] == {"progress": 0, "target": 3}
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")
    assert (hidden.status_code, hidden.json()["error"]["code"]) == (404, "not_found")
    assert (balance(player), ledger_count(player), experience(player)) == before
    assert not MissionProgress.objects.filter(user=player).exists()


def test_progress_version_strictly_increases_and_progress_stops_at_the_target():
    player = funded_player(10_000)
    client = client_of(player)
    mission = MissionFactory(target=3)
    for _ in range(5):
        spin(client)

    items = [
        item
        for message in progress_messages(player)
        for item in message["items"]
        if item["scope"] == "mission" and item["id"] == mission.pk
    ]
    assert [(i["progress"], i["progress_version"], i["completed"]) for i in items] == [
        (1, 1, False),
        (2, 2, False),
        (3, 3, True),
    ]
    row = MissionProgress.objects.get(user=player, mission=mission)
    assert (row.progress, row.progress_version) == (3, 3)
    assert row.completed_at is not None


def test_a_game_filter_counts_only_that_games_rounds_and_gold_spent_counts_bets():
    player = funded_player(10_000)
    client = client_of(player)
    slot_only = MissionFactory(code="slot-only", game="slot", target=5)
    any_game = MissionFactory(code="any-game", target=5)
    spent = MissionFactory(code="spent", requirement_type="gold_spent", target=1000)
    rps_spent = MissionFactory(
        code="rps-spent", requirement_type="gold_spent", game="rps", target=1000
    )

    play_rps(client, bet=30)
    play_rps(client, bet=20)
    spin(client, bet=10)

    listed = missions(client)
    assert {code: listed[code]["progress"] for code in listed} == {
        "slot-only": 1,
        "any-game": 3,
        "spent": 60,
        "rps-spent": 50,
    }
    assert {slot_only.pk, any_game.pk, spent.pk, rps_spent.pk} == {
        item["id"] for item in listed.values()
    }


def _round(player, bet, payout, game="slot"):
    with transaction.atomic():
        domain_events.domain_event_record(
            domain_events.RoundSettled(
                user_id=player.pk,
                round_id=1,
                game=game,
                bet=bet,
                payout=payout,
                multiplier_x100=payout * 100 // bet,
            )
        )
    caught_up()


def test_wins_and_gold_won_count_only_rounds_that_paid_more_than_the_bet():
    player = funded_player(0)
    wins = MissionFactory(code="wins", requirement_type="wins", target=5)
    won = MissionFactory(code="won", requirement_type="gold_won", target=1000)

    _round(player, 100, 0)  # a loss
    _round(player, 100, 100)  # a draw refunds the bet: no win
    _round(player, 100, 250)  # a win of 150 net

    rows = {row.mission_id: row for row in MissionProgress.objects.filter(user=player)}
    assert (rows[wins.pk].progress, rows[wins.pk].progress_version) == (1, 1)
    assert (rows[won.pk].progress, rows[won.pk].progress_version) == (150, 1)


def test_purchases_progress_purchase_and_gold_spent_missions():
    player = funded_player(10_000)
    purchases = MissionFactory(code="buy2", period="weekly", requirement_type="purchases", target=2)
    spent = MissionFactory(code="spend", requirement_type="gold_spent", target=1000)
    item = ItemFactory(price_gold=300)
    pack = GoldPackFactory()

    shop_buy(player, item.code)
    shop_buy(player, pack.code)  # the simulated gateway succeeds at once
    caught_up()

    rows = {row.mission_id: row for row in MissionProgress.objects.filter(user=player)}
    assert (rows[purchases.pk].progress, rows[purchases.pk].progress_version) == (2, 2)
    assert rows[purchases.pk].completed_at is not None
    assert rows[purchases.pk].period_start == timezone.localdate() - timedelta(
        days=timezone.localdate().weekday()
    )
    assert (rows[spent.pk].progress, rows[spent.pk].progress_version) == (300, 1)


def _streak_claim(player, days, source="streak"):
    with transaction.atomic():
        domain_events.domain_event_record(
            domain_events.RewardClaimed(
                user_id=player.pk, source=source, gold=100, streak_days=days
            )
        )
    caught_up()


def test_streak_missions_take_the_longest_streak_claimed_in_the_period():
    player = funded_player(0)
    streak = MissionFactory(code="streak5", requirement_type="streak_days", target=5)

    _streak_claim(player, 3)
    _streak_claim(player, 2)  # shorter: nothing changes
    _streak_claim(player, 9, source="vip")  # not a streak claim

    row = MissionProgress.objects.get(user=player, mission=streak)
    assert (row.progress, row.progress_version, row.completed_at) == (3, 1, None)
    _streak_claim(player, 6)
    row.refresh_from_db()
    assert (row.progress, row.progress_version) == (5, 2)
    assert row.completed_at is not None


def test_progress_on_day_one_does_not_count_on_day_two_in_seoul():
    player = funded_player(10_000)
    mission = MissionFactory(target=3)
    # 23:50 and 00:10 in Seoul are 14:50 and 15:10 of the same UTC day.
    late = datetime(2026, 3, 4, 23, 50, tzinfo=SEOUL)
    with time_machine.travel(late, tick=False) as clock:
        client = client_of(player)  # tokens are issued on the travelled clock
        for _ in range(3):
            spin(client)
        assert missions(client)[mission.code]["claimable"] is True

        clock.move_to(late + timedelta(minutes=20))
        client = client_of(player)  # the first token has expired (15 minutes)
        listed = missions(client)[mission.code]
        response = claim(client, mission)
        spin(client)

    assert (listed["period_start"], listed["progress"], listed["claimable"]) == (
        "2026-03-05",
        0,
        False,
    )
    assert listed["resets_at"] == "2026-03-06T00:00:00+09:00"
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_completed"
    rows = MissionProgress.objects.filter(user=player, mission=mission).order_by("period_start")
    assert [(str(r.period_start), r.progress, r.claimed_at) for r in rows] == [
        ("2026-03-04", 3, None),
        ("2026-03-05", 1, None),
    ]
    assert not LedgerEntry.objects.filter(reason=LedgerReason.MISSION_REWARD).exists()


def test_weekly_missions_run_from_monday_in_seoul():
    player = funded_player(10_000)
    weekly = MissionFactory(period="weekly", target=10)
    sunday_night = datetime(2026, 3, 8, 23, 59, tzinfo=SEOUL)
    with time_machine.travel(sunday_night, tick=False) as clock:
        client = client_of(player)
        spin(client)
        clock.move_to(sunday_night + timedelta(minutes=2))  # Monday 00:01
        spin(client)
        listed = missions(client, "weekly")[weekly.code]

    rows = MissionProgress.objects.filter(user=player, mission=weekly).order_by("period_start")
    assert [(str(r.period_start), r.progress) for r in rows] == [
        ("2026-03-02", 1),
        ("2026-03-09", 1),
    ]
    assert (listed["period_start"], listed["resets_at"]) == (
        "2026-03-09",
        "2026-03-16T00:00:00+09:00",
    )


def test_missions_routes_list_each_period_and_refuse_other_paths():
    player = funded_player(0)
    daily = MissionFactory(code="d", title="Daily", description="Play.", game="slot")
    weekly = MissionFactory(code="w", period="weekly", requirement_type="purchases", target=1)
    MissionFactory(code="off", is_active=False)
    now = datetime(2026, 3, 4, 12, 0, tzinfo=SEOUL)  # a Wednesday

    with time_machine.travel(now, tick=False):
        client = client_of(player)
        listed_daily = client.get("/api/events/missions/daily")
        listed_weekly = client.get("/api/events/missions/weekly")
        listed_all = client.get("/api/events/missions/all")
        monthly = client.get("/api/events/missions/monthly")
        bare = client.get("/api/events/missions/")

    assert listed_daily.status_code == 200
    assert listed_daily.json() == {
        "period": "daily",
        "missions": [
            {
                "id": daily.pk,
                "code": "d",
                "title": "Daily",
                "description": "Play.",
                "period": "daily",
                "period_start": "2026-03-04",
                "resets_at": "2026-03-05T00:00:00+09:00",
                "requirement": {"type": "plays", "game": "slot", "target": 3},
                "reward": {"gold": 250, "xp": 40},
                "progress": 0,
                "progress_version": 0,
                "completed": False,
                "claimed": False,
                "claimable": False,
            }
        ],
    }
    assert [m["id"] for m in listed_weekly.json()["missions"]] == [weekly.pk]
    assert listed_weekly.json()["missions"][0]["period_start"] == "2026-03-02"
    assert [m["id"] for m in listed_all.json()["missions"]] == [daily.pk, weekly.pk]
    assert listed_all.json()["period"] == "all"
    assert monthly.status_code == 404
    assert monthly.json()["error"]["code"] == "not_found"
    assert bare.status_code == 404


def test_missions_need_a_logged_in_player(api_client):
    assert api_client.get("/api/events/missions/all").status_code == 401
    assert api_client.post("/api/events/missions/claim/1", {}, format="json").status_code == 401


def test_a_claim_refuses_unknown_body_fields_and_needs_an_idempotency_key():
    player = funded_player(0)
    client = client_of(player)
    mission = MissionFactory()

    unknown = post(client, f"/api/events/missions/claim/{mission.pk}", {"progress": 3})
    keyless = client.post(f"/api/events/missions/claim/{mission.pk}", {}, format="json")

    assert (unknown.status_code, unknown.json()["error"]["code"]) == (400, "validation_error")
    assert (keyless.status_code, keyless.json()["error"]["code"]) == (
        400,
        "idempotency_key_required",
    )
    assert not MissionProgress.objects.filter(user=player).exists()
