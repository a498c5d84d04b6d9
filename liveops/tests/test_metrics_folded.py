"""Player metrics from the folded log totals: only new events are folded, a replay from scratch
gives the same rows, the check recomputes them, the streak counts local days, and no read of the
metrics run or of the projection scans the whole event log (docs/decisions/0256)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from accounts.tests.factories import UserFactory
from casinoclub.models import DomainEvent
from casinoclub.projections import (
    projection_batch_apply,
    projection_get,
    projection_reset,
    projections_run,
)
from liveops import metrics, services
from liveops.metrics import PLAYER_TOTALS
from liveops.models import PlayerLogTotals, PlayerMetrics
from liveops.projections import _FIRST_PURCHASES, _PURCHASES_RECOMPUTE
from liveops.tests.factories import logged, purchase, round_settled

pytestmark = pytest.mark.django_db


def metrics_of(user) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    row = PlayerMetrics.objects.values().get(user=user)
    row.pop("computed_at")
    return row


def all_metrics() -> dict[int, dict[str, Any]]:
    rows = {}
    for row in PlayerMetrics.objects.values():
        row.pop("computed_at")
        rows[row["user_id"]] = row
    return rows


def all_totals() -> dict[int, dict[str, Any]]:
    return {row["user_id"]: row for row in PlayerLogTotals.objects.values()}


def apply_in_batches_of(size: int) -> int:
    applied = total = 0
    while applied := projection_batch_apply(PLAYER_TOTALS, limit=size):
        total += applied
    return total


def test_a_run_after_new_events_folds_only_them_and_moves_the_figures_by_exactly_them():
    # given: a player with a purchase and a round yesterday, another player, one run done
    now = timezone.now()
    player, other = UserFactory(), UserFactory()
    first = purchase(player, 3_000, days_ago=3)
    round_settled(player, 10, 0, at=now - timedelta(days=1))
    purchase(other, 5_000, days_ago=1)
    services.player_metrics_recompute()
    before, other_before = metrics_of(player), metrics_of(other)
    assert (before["purchase_count"], before["lifetime_value_cents"]) == (1, 3_000)
    assert before["activity_streak_days"] == 1

    # when: two new events of the player
    second = purchase(player, 2_000, days_ago=0.5)
    latest = round_settled(player, 10, 0, at=now - timedelta(minutes=1))
    applied = projection_batch_apply(PLAYER_TOTALS)
    services.player_metrics_recompute()

    # then: the projection folded the two new events only, and the figures moved by them
    assert applied == 2
    after = metrics_of(player)
    assert after["purchase_count"] == before["purchase_count"] + 1
    assert after["lifetime_value_cents"] == before["lifetime_value_cents"] + 2_000
    assert after["first_purchase_at"] == first.created_at
    assert after["last_purchase_at"] == second.created_at
    assert after["last_active_at"] == latest.created_at
    assert after["activity_streak_days"] == 2
    assert metrics_of(other) == other_before


def test_with_the_totals_folded_the_metrics_run_does_not_read_the_old_log():
    # given: players whose events are all older than the clock's windows, folded by one run
    now = timezone.now()
    buyer, lapsed, idle = UserFactory(), UserFactory(), UserFactory()
    for day in range(3):
        purchase(buyer, 4_000, days_ago=2 + day)
    round_settled(buyer, 10, 0, at=now - timedelta(days=1, hours=2))
    purchase(lapsed, 9_000, days_ago=40, receipt="refunded")
    logged("purchase_reversed", lapsed, {"receipt": "refunded"}, at=now - timedelta(days=39))
    services.player_metrics_recompute()
    figures = all_metrics()

    # when: the old log is gone (a run that scanned it would now find nothing)
    DomainEvent.objects.filter(created_at__lt=now - timedelta(hours=25)).delete()
    services.player_metrics_recompute()

    # then: every figure is the same, from the folded totals
    assert all_metrics() == figures
    assert figures[buyer.pk]["purchase_count"] == 3
    assert figures[buyer.pk]["lifetime_value_cents"] == 12_000
    assert figures[lapsed.pk]["purchase_count"] == 0
    assert figures[lapsed.pk]["last_active_at"] is not None
    assert figures[idle.pk]["last_active_at"] is None


def crafted_log() -> list[Any]:
    """Events of three players over several days, a reversal, a gold purchase."""
    now = timezone.now()
    steady, buyer, returner = UserFactory(), UserFactory(), UserFactory()
    for days in (7, 6, 3, 2, 1, 0):
        round_settled(steady, 10, 10, at=now - timedelta(days=days, minutes=2))
    bought = purchase(buyer, 1_000, days_ago=5, receipt="a")
    purchase(buyer, 2_500, days_ago=4, receipt="b")
    reversal = {
        "receipt": "a",
        "flow": "pack",
        "kind": "refund",
        "price_cents": 1_000,
        "price_gold": 0,
        "items": [],
        "items_removed": [],
        "succeeded_at": bought.created_at.isoformat(),
    }
    logged("purchase_reversed", buyer, reversal, at=now - timedelta(days=3))
    gold_priced = {
        "receipt": "g",
        "flow": "pack",
        "product_code": "pack",
        "price_cents": 0,
        "price_gold": 50,
        "gold": 0,
    }
    logged("purchase_succeeded", buyer, gold_priced)  # today: not spend, but activity
    round_settled(buyer, 20, 0, at=now - timedelta(days=1))
    for days in (9, 8, 1):
        round_settled(returner, 5, 0, at=now - timedelta(days=days))
    logged("reward_claimed", returner, {"source": "streak", "gold": 1})
    return [steady, buyer, returner]


def test_replaying_the_log_from_scratch_gives_the_rows_of_the_incremental_path():
    # given: the log folded two events at a time, then the metrics computed
    steady, buyer, returner = crafted_log()
    assert apply_in_batches_of(2) == DomainEvent.objects.count()
    services.player_metrics_recompute()
    incremental_totals, incremental_metrics = all_totals(), all_metrics()

    # when: the projection is rebuilt (reset, then the whole log replayed at once)
    projection_reset(PLAYER_TOTALS)
    assert PlayerLogTotals.objects.count() == 0
    projections_run(names=[PLAYER_TOTALS])
    services.player_metrics_recompute()

    # then: the same rows, and the figures a reader expects
    assert all_totals() == incremental_totals
    assert all_metrics() == incremental_metrics
    assert incremental_metrics[steady.pk]["activity_streak_days"] == 4
    assert incremental_metrics[buyer.pk]["purchase_count"] == 1
    assert incremental_metrics[buyer.pk]["lifetime_value_cents"] == 2_500
    assert incremental_metrics[buyer.pk]["activity_streak_days"] == 2
    assert incremental_metrics[returner.pk]["activity_streak_days"] == 2


def test_check_projections_recomputes_the_totals_and_names_a_wrong_row():
    # given: rounds and purchases (the other projections check them too)
    now = timezone.now()
    player, buyer = UserFactory(), UserFactory()
    for days in (3, 1, 0):
        round_settled(player, 10, 10, at=now - timedelta(days=days))
    purchase(buyer, 1_000, days_ago=2)
    purchase(buyer, 2_500, days_ago=0)
    projections_run(names=[PLAYER_TOTALS])
    assert projection_get(PLAYER_TOTALS).differences is not None
    clean = StringIO()
    call_command("check_projections", stdout=clean)
    assert f"{PLAYER_TOTALS}: OK" in clean.getvalue()

    # when: a row no longer agrees with the log
    PlayerLogTotals.objects.filter(user_id=buyer.pk).update(lifetime_value_cents=9_999)
    out = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("check_projections", stdout=out)

    # then
    assert exit_info.value.code == 1
    assert f"{PLAYER_TOTALS} user {buyer.pk}: expected" in out.getvalue()
    assert f"{PLAYER_TOTALS}: 1 difference(s)" in out.getvalue()


def local_midnight_today() -> datetime:
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


def test_the_streak_counts_local_days_across_midnight_in_time_zone(settings):
    # given: TIME_ZONE is Seoul (UTC+9); one event per batch
    assert settings.TIME_ZONE == "Asia/Seoul"
    midnight = local_midnight_today()  # 15:00 UTC the day before
    night_owl, utc_crosser = UserFactory(), UserFactory()
    # 23:50 and 00:10 in Seoul: two local days, one UTC day
    round_settled(night_owl, 10, 10, at=midnight - timedelta(minutes=10))
    round_settled(night_owl, 10, 10, at=midnight + timedelta(minutes=10))
    # 23:50 and 00:10 UTC: one local day (08:50 and 09:10 in Seoul), two UTC days
    utc_midnight = midnight.astimezone(UTC).replace(hour=0, minute=0)
    if utc_midnight > timezone.now() - timedelta(minutes=10):
        utc_midnight -= timedelta(days=1)
    round_settled(utc_crosser, 10, 10, at=utc_midnight - timedelta(minutes=10))
    round_settled(utc_crosser, 10, 10, at=utc_midnight + timedelta(minutes=10))

    # when
    assert apply_in_batches_of(1) == 4
    services.player_metrics_recompute()

    # then
    totals = PlayerLogTotals.objects.get(user_id=night_owl.pk)
    assert totals.streak_first_day == timezone.localdate() - timedelta(days=1)
    assert totals.streak_last_day == timezone.localdate()
    assert PlayerMetrics.objects.get(user=night_owl).activity_streak_days == 2
    crosser = PlayerLogTotals.objects.get(user_id=utc_crosser.pk)
    assert crosser.streak_first_day == crosser.streak_last_day
    assert PlayerMetrics.objects.get(user=utc_crosser).activity_streak_days == 1


def test_a_folded_streak_stops_counting_once_its_last_day_is_before_yesterday(monkeypatch):
    # given: a three-day streak ending today, folded
    now = timezone.now()
    player = UserFactory()
    for days in (2, 1, 0):
        round_settled(player, 10, 10, at=now - timedelta(days=days))
    services.player_metrics_recompute()
    assert PlayerMetrics.objects.get(user=player).activity_streak_days == 3

    # when: the job runs two days later with no new event
    later = now + timedelta(days=2)
    monkeypatch.setattr(metrics.timezone, "now", lambda: later)
    services.player_metrics_recompute()

    # then
    assert PlayerMetrics.objects.get(user=player).activity_streak_days == 0


def plan_of(statement: str, parameters: Any) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + statement, parameters)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_metrics_statement_reads_the_log_only_through_indexes():
    # given
    UserFactory()

    # when
    plan = plan_of(metrics._statement(), metrics._parameters(timezone.now()))

    # then: the last hour's purchases through the partial index, the rounds of the chase window
    # through the BRIN index on created_at, and no scan of the whole log
    assert "Seq Scan on casinoclub_domainevent" not in plan
    assert "domainevent_purchase_time" in plan
    assert "domainevent_created_brin" in plan


def test_the_projections_read_a_players_purchases_through_the_partial_index():
    # given
    player = UserFactory()
    purchase(player, 1_000)

    # when
    recompute = plan_of(_PURCHASES_RECOMPUTE, {"users": [player.pk]})
    first_purchases = plan_of(_FIRST_PURCHASES, [[player.pk]])

    # then
    for plan in (recompute, first_purchases):
        assert "Seq Scan on casinoclub_domainevent" not in plan
        assert "domainevent_purchase_user" in plan


def test_when_the_totals_cannot_catch_up_the_run_still_writes_from_what_is_folded(
    monkeypatch, caplog
):
    # given: a folded purchase, then a new one the projection fails to apply
    player = UserFactory()
    purchase(player, 3_000, days_ago=1)
    services.player_metrics_recompute()
    purchase(player, 2_000, days_ago=0.5)

    def broken(events):  # type: ignore[no-untyped-def]
        raise RuntimeError("projection down")

    monkeypatch.setattr(
        "casinoclub.projections._REGISTRY",
        {PLAYER_TOTALS: replace(projection_get(PLAYER_TOTALS), apply=broken)},
    )

    # when
    rows = services.player_metrics_recompute()

    # then: every row written, the new purchase not yet counted, the failure logged
    assert rows == PlayerMetrics.objects.count()
    assert metrics_of(player)["purchase_count"] == 1
    assert metrics_of(player)["lifetime_value_cents"] == 3_000
    assert "the log totals could not catch up" in caplog.text
