"""A projection worker SIGKILLed in the middle of a batch: every event is applied exactly once."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from kombu.exceptions import OperationalError as BrokerUnavailable

from casinoclub.models import ProjectionCursor
from casinoclub.tasks import projections_run_task
from casinoclub.tests.processes import wait_until
from games.models import PlayerGameStats
from games.services import slot_spin
from games.tests.factories import funded_player
from gamification.models import PlayerProgress

from .conftest import backends_alive, blocked_by, raw_database_connection

pytestmark = [pytest.mark.fault, pytest.mark.timeout(120)]
RUN_TASK = "casinoclub.tasks.projections_run_task"


@pytest.mark.django_db(transaction=True)
def test_a_projection_worker_killed_mid_batch_applies_every_event_exactly_once(
    monkeypatch, celery_worker, send_task
):
    # Given five settled rounds no projection has applied (the after-commit send is lost)
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise BrokerUnavailable("connection refused")

    monkeypatch.setattr(projections_run_task, "apply_async", refuse)
    player = funded_player(10_000, rank="VIP")
    rounds = [slot_spin(player, 10) for _ in range(5)]
    assert not PlayerGameStats.objects.filter(user=player).exists()

    # and the player's wallet held by another transaction, so the first batch blocks inside its
    # transaction after it has locked its cursor and read the events
    lock_holder = raw_database_connection()
    observer = raw_database_connection()
    observer.autocommit = True
    lock_holder.execute(
        "SELECT user_id FROM accounts_wallet WHERE user_id = %s FOR UPDATE", [player.pk]
    )
    lock_holder_pid = lock_holder.info.backend_pid

    # When a worker runs the projections, blocks mid-batch and is SIGKILLed
    worker = celery_worker()
    send_task(RUN_TASK)
    blocked = wait_until(lambda: blocked_by(observer, lock_holder_pid), "the batch to block")
    worker.kill()
    lock_holder.rollback()
    wait_until(lambda: not backends_alive(observer, blocked), "the dead worker's backend to end")

    # Then nothing of the killed batch remains
    assert not PlayerGameStats.objects.filter(user=player).exists()
    assert not ProjectionCursor.objects.filter(last_event_id__gt=0).exists()

    # And a new worker (beat's backstop) applies every event exactly once
    celery_worker()
    send_task(RUN_TASK)
    wait_until(
        lambda: (
            PlayerProgress.objects.filter(user=player, rounds_played=5).exists()
            and PlayerGameStats.objects.filter(user=player, game="slot", plays=5).exists()
        ),
        "the projections to catch up",
        timeout=30,
    )
    stats = PlayerGameStats.objects.get(user=player, game="slot")
    assert (stats.plays, stats.total_bet, stats.total_won) == (
        5,
        50,
        sum(round_.payout for round_ in rounds),
    )
    call_command("check_projections", stdout=io.StringIO())  # exits 1 on any difference
    lock_holder.close()
    observer.close()
