"""Daily streak through the HTTP API: one claim per Seoul calendar day, growth, cap, reset."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction

from accounts.models import User
from accounts.services import user_experience_add
from accounts.tests.test_races import run_together
from casinoclub import domain_events
from casinoclub.projections import projections_run
from casinoclub.realtime.models import RealtimeMessage
from casinoclub.tests.projection_helpers import caught_up, logged
from games.tests.factories import funded_player
from gamification.models import (
    AchievementUnlock,
    PlayerProgress,
    SeasonProgress,
    StreakClaim,
    StreakState,
)
from gamification.projections import progression_differences
from gamification.tests.factories import AchievementFactory, SeasonFactory
from gamification.tests.helpers import balance, client_of, ledger, post

KST = ZoneInfo("Asia/Seoul")


def kst(day: int, hour: int = 12, minute: int = 0, month: int = 1) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=KST)


@pytest.fixture(autouse=True)
def _seoul(settings):
    settings.TIME_ZONE = "Asia/Seoul"
    settings.STREAK_GRACE_DAYS = 0


@pytest.fixture
def player(streak_rewards, no_achievements):
    return funded_player(0)


def claim_at(player, moment: datetime, key: str | None = None):
    with time_machine.travel(moment, tick=False):
        return post(client_of(player), "/api/streak/claim", key=key)


def snapshot(player):
    return (
        balance(player),
        ledger(player),
        list(StreakClaim.objects.filter(user=player).values_list("day", "streak_day")),
        RealtimeMessage.objects.filter(user=player).count(),
        User.objects.get(pk=player.pk).experience,
    )


@pytest.mark.django_db
def test_first_claim_pays_day_one_gives_xp_and_sends_streak_update(player):
    response = claim_at(player, kst(1))

    assert response.status_code == 200
    body = response.json()
    assert (body["day"], body["streak_day"], body["reward_gold"], body["xp"]) == (
        "2025-01-01",
        1,
        100,
        20,
    )
    assert body["balance"] == 100 == balance(player)
    assert body["status"]["claimed_today"] is True
    assert body["status"]["current_streak"] == 1
    assert ledger(player) == [(100, "streak_reward")]
    assert User.objects.get(pk=player.pk).experience == 20
    types = list(
        RealtimeMessage.objects.filter(user=player).order_by("seq").values_list("type", flat=True)
    )
    assert "streak_update" in types
    assert "reward_granted" in types
    update = RealtimeMessage.objects.get(user=player, type="streak_update").data
    assert (update["streak_day"], update["reward_gold"], update["next_reward_gold"]) == (
        1,
        100,
        150,
    )


@pytest.mark.django_db
def test_second_claim_the_same_day_is_refused_and_changes_nothing(player):
    first = claim_at(player, kst(1, 9), key="streak-first-1")
    replay = claim_at(player, kst(1, 10), key="streak-first-1")
    before = snapshot(player)

    again = claim_at(player, kst(1, 23, 59), key="streak-other-2")

    assert first.status_code == 200
    assert replay.status_code == 200
    assert replay.content == first.content
    assert replay["Idempotent-Replayed"] == "true"
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_claimed"
    assert snapshot(player) == before
    assert ledger(player) == [(100, "streak_reward")]


@pytest.mark.django_db
def test_claim_without_an_idempotency_key_is_refused(player):
    with time_machine.travel(kst(1), tick=False):
        response = client_of(player).post("/api/streak/claim", {}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_required"
    assert snapshot(player) == (0, [], [], 0, 0)


@pytest.mark.django_db
def test_day_boundary_is_midnight_in_seoul_and_continues_the_streak(player):
    late = claim_at(player, kst(1, 23, 59))
    early = claim_at(player, kst(2, 0, 1))  # two minutes later; still Jan 1 in UTC

    assert late.status_code == early.status_code == 200
    assert (late.json()["day"], late.json()["streak_day"]) == ("2025-01-01", 1)
    assert (early.json()["day"], early.json()["streak_day"], early.json()["reward_gold"]) == (
        "2025-01-02",
        2,
        150,
    )
    assert ledger(player) == [(100, "streak_reward"), (150, "streak_reward")]


@pytest.mark.django_db
def test_a_missed_day_resets_the_streak(player):
    for day in (1, 2):
        assert claim_at(player, kst(day)).status_code == 200

    with time_machine.travel(kst(4, 8), tick=False):
        status = client_of(player).get("/api/streak/status").json()
    response = claim_at(player, kst(4, 9))

    assert (status["current_streak"], status["best_streak"], status["next_reward_gold"]) == (
        0,
        2,
        100,
    )
    assert (response.json()["streak_day"], response.json()["reward_gold"]) == (1, 100)
    state = StreakState.objects.get(user=player)
    assert (state.current_streak, state.best_streak) == (1, 2)


@pytest.mark.django_db
def test_one_day_of_grace_keeps_the_streak_when_configured(player, settings):
    settings.STREAK_GRACE_DAYS = 1
    claim_at(player, kst(1))

    kept = claim_at(player, kst(3))  # Jan 2 missed: forgiven
    lost = claim_at(player, kst(6))  # Jan 4 and 5 missed: reset

    assert kept.json()["streak_day"] == 2
    assert lost.json()["streak_day"] == 1


@pytest.mark.django_db
def test_reward_grows_with_the_streak_and_caps_at_the_last_row(player):
    rewards = [claim_at(player, kst(day)).json()["reward_gold"] for day in range(1, 6)]

    assert rewards == [100, 150, 200, 200, 200]
    assert sum(delta for delta, _ in ledger(player, "streak_reward")) == 850
    # 5 claims x 20 XP = 100 XP: level 2, whose reward goes through the ledger too
    assert ledger(player, "level_up") == [(200, "level_up")]
    assert balance(player) == 850 + 200


@pytest.mark.django_db
def test_status_and_preview_before_and_after_claiming(player):
    with time_machine.travel(kst(1, 8), tick=False):
        client = client_of(player)
        status = client.get("/api/streak/status").json()
        preview = client.get("/api/streak/preview").json()
        post(client, "/api/streak/claim")
        after = client.get("/api/streak/status").json()
        preview_after = client.get("/api/streak/preview").json()

    assert status == {
        "today": "2025-01-01",
        "current_streak": 0,
        "best_streak": 0,
        "last_claim_date": None,
        "claimed_today": False,
        "next_streak_day": 1,
        "next_reward_gold": 100,
        "next_claim_at": None,
        "grace_days": 0,
    }
    assert preview["today"] == {
        "date": "2025-01-01",
        "streak_day": 1,
        "reward_gold": 100,
        "claimed": False,
        "claimable": True,
    }
    assert preview["tomorrow"] == {
        "date": "2025-01-02",
        "streak_day": 2,
        "reward_gold": 150,
        "claimable": False,
        "claimable_from": "2025-01-02T00:00:00+09:00",
    }
    assert preview["cap_day"] == 3
    assert (after["claimed_today"], after["current_streak"], after["next_streak_day"]) == (
        True,
        1,
        2,
    )
    assert after["next_claim_at"] == "2025-01-02T00:00:00+09:00"
    assert (preview_after["today"]["claimed"], preview_after["today"]["claimable"]) == (True, False)
    assert preview_after["tomorrow"]["reward_gold"] == 150


@pytest.mark.django_db
def test_history_lists_the_claimed_days_of_the_month(player):
    for moment in (kst(30), kst(31), kst(1, month=2)):
        assert claim_at(player, moment).status_code == 200

    with time_machine.travel(kst(2, month=2), tick=False):
        client = client_of(player)
        january = client.get("/api/streak/history?year=2025&month=1").json()
        february = client.get("/api/streak/history?year=2025&month=2").json()
        current = client.get("/api/streak/history").json()

    assert january == {
        "year": 2025,
        "month": 1,
        "claimed_days": [30, 31],
        "claims": [
            {"date": "2025-01-30", "streak_day": 1, "reward_gold": 100},
            {"date": "2025-01-31", "streak_day": 2, "reward_gold": 150},
        ],
    }
    assert february["claimed_days"] == [1]
    assert february["claims"][0]["streak_day"] == 3
    assert current == february  # no year/month: the current month


@pytest.mark.parametrize(
    "query",
    [
        "year=2025&month=13",
        "year=2025&month=0",
        "year=abc&month=1",
        "year=1999&month=1",
        "year=2025&month=1&day=3",
        # parsed leniently before strict query parsing (docs/decisions/0161)
        "year=2025.0&month=1",
        "year=2025&month=+1",
        "year=2025&month= 1",
        "year=&month=",
        "year=2025&month=1&month=2",
    ],
)
@pytest.mark.django_db
def test_history_refuses_an_invalid_month(player, query):
    response = client_of(player).get(f"/api/streak/history?{query}")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.django_db
def test_claim_announces_reward_claimed_with_the_streak_day(player):
    claim_at(player, kst(1))
    claim_at(player, kst(2))
    received = logged("reward_claimed")

    assert received == [
        domain_events.RewardClaimed(
            user_id=player.pk, source="streak", gold=100, streak_days=1, xp=20
        ),
        domain_events.RewardClaimed(
            user_id=player.pk, source="streak", gold=150, streak_days=2, xp=20
        ),
    ]


@pytest.mark.django_db
def test_streak_routes_require_login(api_client):
    assert api_client.get("/api/streak/status").status_code == 401
    assert api_client.post("/api/streak/claim", {}, format="json").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_on_one_day_pay_once(streak_rewards, no_achievements):
    player = funded_player(0)
    with time_machine.travel(kst(1), tick=False):
        statuses = run_together(
            6,
            lambda index: (
                post(
                    client_of(player), "/api/streak/claim", key=f"race-streak-{index:03d}"
                ).status_code
            ),
        )

    assert sorted(statuses) == [200] + [409] * 5
    assert ledger(player) == [(100, "streak_reward")]
    assert StreakClaim.objects.filter(user=player).count() == 1
    assert User.objects.get(pk=player.pk).experience == 20


def broker_down(monkeypatch) -> None:
    """Every after-commit kick of the projection runner is refused: nothing runs until called."""
    from kombu.exceptions import OperationalError

    from casinoclub.tasks import projections_run_task

    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to redis: Connection refused.")

    monkeypatch.setattr(projections_run_task, "apply_async", refuse)


def progression_of(player) -> tuple:
    user = User.objects.get(pk=player.pk)
    progress = PlayerProgress.objects.filter(user=player).first()
    return (
        progress.best_streak_days if progress else None,
        user.level,
        user.experience,
        list(SeasonProgress.objects.filter(user=player).values_list("xp", flat=True)),
        list(AchievementUnlock.objects.filter(user=player).values_list("achievement__code")),
    )


@pytest.mark.django_db
def test_a_claim_leaves_xp_counters_and_achievements_to_the_progression_projection(player):
    # given a running season and an achievement for a one-day streak
    with time_machine.travel(kst(1), tick=False):
        SeasonFactory()
    AchievementFactory(
        code="first_day", metric="streak_days", threshold=1, reward_gold=70, reward_xp=5
    )

    # when the player claims, inside one request transaction
    with time_machine.travel(kst(1), tick=False):
        response = client_of(player).post(
            "/api/streak/claim", {}, format="json", HTTP_IDEMPOTENCY_KEY="streak-projected-01"
        )

    # then the claim paid its gold and logged its streak day and XP, and nothing else changed yet
    assert response.status_code == 200
    assert ledger(player) == [(100, "streak_reward")]
    assert logged("reward_claimed", player.pk) == [
        domain_events.RewardClaimed(
            user_id=player.pk, source="streak", gold=100, streak_days=1, xp=20
        )
    ]
    assert progression_of(player) == (None, 1, 0, [], [])
    before = set(RealtimeMessage.objects.filter(user=player).values_list("pk", flat=True))

    # when the projections apply the event
    caught_up()

    # then the best streak, the level and battle-pass XP (the claim's and the achievement's) and
    # the achievement follow, paid once, announced in the batch's one progress_update
    assert progression_of(player) == (1, 1, 25, [25], [("first_day",)])
    assert ledger(player, "achievement_reward") == [(70, "achievement_reward")]
    new = RealtimeMessage.objects.filter(user=player).exclude(pk__in=before)
    updates = [message.data for message in new if message.type == "progress_update"]
    assert [message.type for message in new].count("achievement_unlock") == 0
    assert len(updates) == 1
    assert (updates[0]["xp"], updates[0]["level"]) == (25, 1)
    assert [(a["code"], a["state"]) for a in updates[0]["achievements"]] == [
        ("first_day", "unlocked")
    ]
    assert progression_differences() == []


@pytest.mark.django_db
def test_a_claim_logged_before_the_projection_owned_its_xp_is_not_granted_twice(player):
    # given a streak claim logged without its XP, whose XP was granted in its own transaction
    with transaction.atomic():
        user_experience_add(player.pk, 20, source="streak")
        domain_events.domain_event_record(
            domain_events.RewardClaimed(user_id=player.pk, source="streak", gold=100, streak_days=3)
        )

    # when the projections apply it
    caught_up()

    # then the best streak follows and the XP stays the claim's 20; the check agrees
    assert progression_of(player) == (3, 1, 20, [], [])
    assert progression_differences() == []


@pytest.mark.django_db(transaction=True)
def test_a_streak_achievement_unlocks_and_pays_once_when_projection_runners_race(
    streak_rewards, no_achievements, monkeypatch
):
    # given an achievement for a two-day streak and two claimed days, not yet projected (the
    # broker is down, so no run follows the commits)
    AchievementFactory(
        code="two_days", metric="streak_days", threshold=2, reward_gold=500, reward_xp=30
    )
    broker_down(monkeypatch)
    player = funded_player(0)
    for day in (1, 2):
        with time_machine.travel(kst(day), tick=False):
            response = client_of(player).post(
                "/api/streak/claim",
                {},
                format="json",
                HTTP_IDEMPOTENCY_KEY=f"streak-race-{day:03d}",
            )
        assert response.status_code == 200
    assert progression_of(player) == (None, 1, 0, [], [])

    # when four projection runners start at the same instant
    run_together(4, lambda _index: projections_run())

    # then each claim counted once and the achievement unlocked and paid once
    assert progression_of(player) == (2, 1, 2 * 20 + 30, [], [("two_days",)])
    assert ledger(player) == [
        (100, "streak_reward"),
        (150, "streak_reward"),
        (500, "achievement_reward"),
    ]
    assert progression_differences() == []
