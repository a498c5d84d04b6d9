"""The projection runner: safe reads of out-of-order commits, exactly-once batches, partitions."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from prometheus_client import REGISTRY

from accounts.tests.factories import UserFactory
from accounts.tests.test_races import run_together
from casinoclub import projections
from casinoclub.eventlog import domain_event_append
from casinoclub.models import DomainEvent, ProjectionCursor
from casinoclub.projections import Event, Projection, projection_batch_apply, projections_run
from casinoclub.tests.projection_helpers import caught_up

RECORDER = "test_recorder"


@pytest.fixture
def recorded() -> Iterator[list[int]]:
    """A projection of claimed rewards that records the ids it applies (only committed batches)."""
    applied: list[int] = []

    def apply(events: list[Event]) -> None:
        ids = [event.id for event in events]
        transaction.on_commit(lambda: applied.extend(ids))

    projections.projection_register(
        Projection(name=RECORDER, event_types=frozenset({"reward_claimed"}), apply=apply)
    )
    yield applied
    projections._REGISTRY.pop(RECORDER, None)


def _claim(user_id: int) -> int:
    return domain_event_append("reward_claimed", user_id, {"source": "streak", "gold": 1})


@pytest.mark.django_db(transaction=True)
def test_an_event_that_commits_after_a_higher_id_is_not_skipped(recorded):
    # given a writer that appends an event (the lower id) and holds its transaction open
    player = UserFactory()
    appended, release = threading.Event(), threading.Event()
    slow_id: list[int] = []

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                slow_id.append(_claim(player.pk))
                appended.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert appended.wait(10)

    # when a second event (the higher id) commits first and the projection runs
    with transaction.atomic():
        fast_id = _claim(player.pk)
    projections_run(names=[RECORDER])

    # then the later id is held back while the lower one may still commit
    assert fast_id > slow_id[0]
    assert recorded == []

    # when the slow writer commits and the projection runs again
    release.set()
    thread.join()
    projections_run(names=[RECORDER])

    # then both are applied, once each, in commit-safe order
    assert sorted(recorded) == sorted([slow_id[0], fast_id])
    assert len(recorded) == 2
    cursor = ProjectionCursor.objects.get(name=RECORDER, partition=0)
    assert cursor.last_event_id == max(recorded, key=lambda i: (_xid(i), i))


def _xid(event_id: int) -> int:
    return DomainEvent.objects.get(pk=event_id).transaction_id


@pytest.mark.django_db(transaction=True)
def test_a_batch_that_fails_midway_rolls_back_with_its_cursor():
    # given two committed events and a projection that writes, then fails on the second event
    player = UserFactory()
    first, second = _claim(player.pk), _claim(player.pk)
    failing = {"on": True}

    def apply(events: list[Event]) -> None:
        for event in events:
            ProjectionCursor.objects.create(name=f"marker-{event.id}", partition=0)
            if failing["on"] and event.id == second:
                raise RuntimeError("projection broke mid-batch")

    projections.projection_register(
        Projection(name="test_failing", event_types=frozenset({"reward_claimed"}), apply=apply)
    )
    try:
        # when the batch runs
        with pytest.raises(RuntimeError):
            projection_batch_apply("test_failing")

        # then neither its writes nor its cursor moved
        assert not ProjectionCursor.objects.filter(name__startswith="marker-").exists()
        assert not ProjectionCursor.objects.filter(
            name="test_failing", last_event_id__gt=0
        ).exists()

        # when it is fixed and runs again, then each event is applied exactly once
        failing["on"] = False
        assert projection_batch_apply("test_failing") == 2
        assert projection_batch_apply("test_failing") == 0
        markers = ProjectionCursor.objects.filter(name__startswith="marker-")
        assert sorted(markers.values_list("name", flat=True)) == [
            f"marker-{first}",
            f"marker-{second}",
        ]
        assert ProjectionCursor.objects.get(name="test_failing").last_event_id == second
    finally:
        projections._REGISTRY.pop("test_failing", None)


@pytest.mark.django_db(transaction=True)
def test_partitions_split_players_and_each_has_its_own_cursor(settings, recorded):
    # given two partitions and one player in each
    settings.PROJECTION_PARTITIONS = 2
    even, odd = UserFactory(), UserFactory()
    if even.pk % 2:
        even, odd = odd, even
    even_event, odd_event = _claim(even.pk), _claim(odd.pk)
    recorded.clear()  # the after-commit runs of every partition already applied them

    # when only partition 1 is rebuilt from zero and run
    ProjectionCursor.objects.filter(name=RECORDER).delete()
    projections_run([1], names=[RECORDER])

    # then only the odd player's event was applied, by partition 1's cursor
    assert recorded == [odd_event]
    assert list(
        ProjectionCursor.objects.filter(name=RECORDER).values_list("partition", flat=True)
    ) == [1]
    projections_run([0], names=[RECORDER])
    assert recorded == [odd_event, even_event]


@pytest.mark.django_db
def test_the_lag_gauge_shows_the_oldest_unapplied_event_then_drops_when_caught_up():
    # given a round event written 30 seconds ago that no projection has applied yet
    player = UserFactory()
    event_id = domain_event_append(
        "round_settled",
        player.pk,
        {"round_id": 1, "game": "slot", "bet": 10, "payout": 0, "multiplier_x100": 0},
    )
    DomainEvent.objects.filter(pk=event_id).update(
        created_at=timezone.now() - timedelta(seconds=30)
    )

    # when beat measures the lag, then every round projection is at least 30 s behind
    lags = projections.projection_lags_record()
    assert lags["game_stats"] >= 30
    assert REGISTRY.get_sample_value("projection_lag_seconds", {"projection": "game_stats"}) >= 30

    # when the projections catch up, then the lag is how late the event was applied (not idle time)
    caught_up()
    lags = projections.projection_lags_record()
    assert 30 <= lags["game_stats"] < 60
    cursor = ProjectionCursor.objects.get(name="game_stats")
    assert lags["game_stats"] == pytest.approx(
        (cursor.updated_at - cursor.last_event_created_at).total_seconds()
    )


def _broker_down(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from kombu.exceptions import OperationalError

    from casinoclub.tasks import projections_run_task

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("Error 111 connecting to redis: Connection refused.")

    monkeypatch.setattr(projections_run_task, "apply_async", refuse)


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_rounds_settle_and_the_beat_backstop_catches_up(monkeypatch):
    # given a broker that refuses every send
    from django.core.management import call_command

    from casinoclub.tasks import projections_run_task
    from games.models import PlayerGameStats
    from games.tests.factories import funded_player
    from gamification.tests.helpers import client_of

    _broker_down(monkeypatch)
    player = funded_player(1000)
    client = client_of(player)

    # when the player spins three times
    statuses = [
        client.post(
            "/api/games/slot/spin",
            {"bet": 10},
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"broker-down-spin-{i:04d}",
        ).status_code
        for i in range(3)
    ]

    # then the rounds settled and nothing was projected yet
    assert statuses == [200, 200, 200]
    assert DomainEvent.objects.filter(user_id=player.pk, type="round_settled").count() == 3
    assert not PlayerGameStats.objects.filter(user=player).exists()

    # when beat's backstop runs (it runs in the worker, not through the broken send)
    projections_run_task.run()

    # then every projection caught up, once
    assert PlayerGameStats.objects.get(user=player, game="slot").plays == 3
    call_command("check_projections", stdout=io.StringIO())


@pytest.mark.django_db(transaction=True)
def test_concurrent_runners_apply_every_event_once_and_pay_an_achievement_once(monkeypatch):
    # given 40 settled rounds not yet projected and an achievement for the 30th round
    from accounts.models import LedgerEntry
    from games.models import PlayerGameStats
    from games.services import slot_spin
    from games.tests.factories import funded_player
    from gamification.models import Achievement, AchievementUnlock, PlayerProgress
    from gamification.tests.factories import AchievementFactory

    Achievement.objects.all().delete()
    AchievementFactory(code="thirty", threshold=30, reward_gold=700)
    _broker_down(monkeypatch)
    player = funded_player(10_000, rank="VIP")  # no daily round limit
    for _ in range(40):
        slot_spin(player, 10)  # the service (the API's throttle would refuse 40 at once)

    # when four workers run the projections at the same instant
    run_together(4, lambda _index: projections_run())

    # then each round counted once and the achievement paid once
    assert PlayerGameStats.objects.get(user=player, game="slot").plays == 40
    assert PlayerProgress.objects.get(user=player).rounds_played == 40
    assert AchievementUnlock.objects.filter(user=player).count() == 1
    assert LedgerEntry.objects.filter(wallet_id=player.pk, reason="achievement_reward").count() == 1


@pytest.mark.django_db
def test_a_batch_sends_each_player_one_progress_update_with_everything_it_changed():
    # given a player, a mission and an achievement the rounds will reach
    from casinoclub.realtime.models import RealtimeMessage
    from events.tests.factories import MissionFactory
    from games.services import slot_spin
    from games.tests.factories import funded_player
    from gamification.models import Achievement
    from gamification.tests.factories import AchievementFactory

    Achievement.objects.all().delete()
    AchievementFactory(code="three", threshold=3, reward_gold=10)
    mission = MissionFactory(code="play5", requirement_type="plays", target=5)
    player = funded_player(10_000, rank="VIP")
    for _ in range(3):
        slot_spin(player, 10)
    before = set(RealtimeMessage.objects.filter(user=player).values_list("pk", flat=True))

    # when the projections apply the three rounds (one batch of every projection together)
    caught_up()

    # then the batch stored ONE progress_update for the player and nothing else of progress:
    # stats, XP and level, achievements, missions in the same message
    new = RealtimeMessage.objects.filter(user=player).exclude(pk__in=before).order_by("seq")
    types = [message.type for message in new]
    assert "achievement_progress" not in types
    assert "achievement_unlock" not in types
    assert "event_progress" not in types
    updates = [message.data for message in new if message.type == "progress_update"]
    assert len(updates) == 1
    update = updates[0]
    assert update["stats"][0]["stats"]["plays"] == 3
    player.refresh_from_db()
    assert (update["xp"], update["level"]) == (player.experience, player.level)
    assert [(a["code"], a["state"], a["value"]) for a in update["achievements"]] == [
        ("three", "progress", 1),
        ("three", "progress", 2),
        ("three", "unlocked", 3),
    ]
    assert [i["progress"] for i in update["missions"] if i["id"] == mission.pk] == [1, 2, 3]


@pytest.mark.django_db
def test_each_round_applied_on_its_own_sends_one_progress_update():
    # given a mission and a player whose every round the projections apply as it settles
    from casinoclub.realtime.models import RealtimeMessage
    from events.tests.factories import MissionFactory
    from games.services import slot_spin
    from games.tests.factories import funded_player

    MissionFactory(code="play5", requirement_type="plays", target=5)
    player = funded_player(10_000, rank="VIP")

    for _ in range(2):
        slot_spin(player, 10)
        before = set(RealtimeMessage.objects.filter(user=player).values_list("pk", flat=True))

        # when the round's projections run
        caught_up()

        # then its stats, XP and mission progress arrive in exactly one progress_update
        new = RealtimeMessage.objects.filter(user=player).exclude(pk__in=before)
        updates = [message.data for message in new if message.type == "progress_update"]
        assert len(updates) == 1
        assert {"stats", "xp", "level", "missions"} <= set(updates[0])


@pytest.mark.django_db
def test_a_full_batch_of_one_projection_ends_every_projection_at_the_same_event(recorded):
    # given a second projection of the same events with a batch of 2 and five pending events
    player = UserFactory()
    seen: list[list[int]] = []

    def apply(events: list[Event]) -> None:
        seen.append([event.id for event in events])

    projections.projection_register(
        Projection(
            name="test_small", event_types=frozenset({"reward_claimed"}), apply=apply, batch_size=2
        )
    )
    try:
        ids = [_claim(player.pk) for _ in range(5)]

        # when one combined batch runs
        applied = projections.projections_batch_apply([RECORDER, "test_small"])

        # then both applied the same first two events and their cursors stand at the same event
        assert applied == {RECORDER: 2, "test_small": 2}
        assert seen == [ids[:2]]
        cursors = ProjectionCursor.objects.filter(name__in=[RECORDER, "test_small"])
        assert {cursor.last_event_id for cursor in cursors} == {ids[1]}
    finally:
        projections._REGISTRY.pop("test_small", None)


def test_a_partitions_run_is_routed_to_its_own_queue_and_the_backstop_to_the_default():
    # given the Celery app configured from the settings
    from casinoclub.celery import app

    router = app.amqp.router
    task = "casinoclub.tasks.projections_run_task"

    # then a partition's after-commit run goes to projections.<n>, the backstop stays default
    assert router.route({}, task, (), {"partition": 3})["queue"].name == "projections.3"
    assert router.route({}, task, (), {"partition": None})["queue"].name == "celery"
    assert router.route({}, "events.tasks.mission_periods_close_task", (), {})["queue"].name == (
        "celery"
    )


@pytest.mark.django_db(transaction=True)
def test_commits_while_a_run_waits_send_no_more_tasks_and_the_run_reads_them_all(monkeypatch):
    # given a worker that has not picked up anything yet (sends are recorded, not run)
    from casinoclub.tasks import projections_run_task
    from games.models import PlayerGameStats
    from games.tests.factories import funded_player
    from gamification.tests.helpers import client_of

    sent: list[dict[str, object]] = []
    monkeypatch.setattr(
        projections_run_task, "apply_async", lambda args, kwargs, **options: sent.append(kwargs)
    )
    player = funded_player(1000)
    client = client_of(player)

    def spin(index: int) -> int:
        return client.post(
            "/api/games/slot/spin",
            {"bet": 10},
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"kick-spin-{index:04d}",
        ).status_code

    # when the player spins three times
    assert [spin(i) for i in range(3)] == [200, 200, 200]

    # then only the first commit asked the partition to run
    assert sent == [{"partition": 0}]

    # when that run starts (it clears the flag before it reads) and a fourth spin commits
    monkeypatch.undo()
    again: list[dict[str, object]] = []
    monkeypatch.setattr(
        projections_run_task, "apply_async", lambda args, kwargs, **options: again.append(kwargs)
    )
    projections_run_task.run(partition=0)
    assert PlayerGameStats.objects.get(user=player, game="slot").plays == 3
    assert spin(3) == 200

    # then the fourth commit asks for a new run, which applies it
    assert again == [{"partition": 0}]
    projections_run_task.run(partition=0)
    assert PlayerGameStats.objects.get(user=player, game="slot").plays == 4


@pytest.mark.django_db(transaction=True)
def test_a_refused_send_leaves_no_flag_so_the_next_commit_asks_again(monkeypatch):
    # given a broker that refuses the first send only
    from kombu.exceptions import OperationalError

    from casinoclub.eventlog import projections_kick
    from casinoclub.tasks import projections_run_task

    attempts: list[int] = []

    def flaky(args, kwargs, **options):  # type: ignore[no-untyped-def]
        attempts.append(kwargs["partition"])
        if len(attempts) == 1:
            raise OperationalError("Error 111 connecting to redis: Connection refused.")

    monkeypatch.setattr(projections_run_task, "apply_async", flaky)

    # when two commits ask the partition to run
    first, second = projections_kick(0), projections_kick(0)

    # then the refused first ask did not silence the second
    assert (first, second) == (False, True)
    assert attempts == [0, 0]


@pytest.mark.django_db(transaction=True)
def test_a_commit_while_a_run_reads_asks_for_another_run(monkeypatch):
    # given a waiting run asked for by a first spin (sends are recorded, not run)
    from casinoclub.tasks import projections_run_task
    from games.tests.factories import funded_player
    from gamification.tests.helpers import client_of

    sent: list[dict[str, object]] = []
    monkeypatch.setattr(
        projections_run_task, "apply_async", lambda args, kwargs, **options: sent.append(kwargs)
    )
    client = client_of(funded_player(1000))

    def spin(key: str) -> None:
        response = client.post(
            "/api/games/slot/spin", {"bet": 10}, format="json", HTTP_IDEMPOTENCY_KEY=key
        )
        assert response.status_code == 200

    spin("kick-during-0001")
    assert sent == [{"partition": 0}]

    # when that run starts and another spin commits before it reads the log
    real_run = projections.projections_run

    def run_after_a_commit(*args, **kwargs):  # type: ignore[no-untyped-def]
        spin("kick-during-0002")
        return real_run(*args, **kwargs)

    monkeypatch.setattr(projections, "projections_run", run_after_a_commit)
    projections_run_task.run(partition=0)

    # then that commit asked for a new run (the flag was cleared before the read, not after)
    assert sent == [{"partition": 0}, {"partition": 0}]
