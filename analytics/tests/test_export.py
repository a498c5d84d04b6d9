"""The warehouse export: JSON Lines that read back to the same counts, byte-identical on a
re-export, and a resume cursor that continues where the last run stopped."""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from analytics.models import DailyActivity, GameDaily, GoldFlowDaily, RetentionCohort
from analytics.services.rollups import analytics_rollup_range, day_bounds
from bench.analytics_data import generate
from casinoclub.models import DomainEvent

pytestmark = pytest.mark.django_db


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def month():  # type: ignore[no-untyped-def]
    generated = generate(players=200, ledger=2000, days=30)
    analytics_rollup_range(generated.first_day, generated.last_day)
    return generated


def run(*args: str) -> None:
    call_command("export_events", *args, stdout=io.StringIO())


def test_a_range_export_reimports_to_the_same_counts(month, tmp_path):
    # given a week in the middle of the month
    since, until = month.first_day + timedelta(days=10), month.first_day + timedelta(days=16)

    # when it is exported
    run("--since", since.isoformat(), "--until", until.isoformat(), "--out", str(tmp_path))

    # then the events read back are exactly the week's events, flat, with integers as integers
    start, _ = day_bounds(since)
    _, end = day_bounds(until)
    week = DomainEvent.objects.filter(created_at__gte=start, created_at__lt=end)
    events = read_lines(tmp_path / "domain_events.jsonl")
    assert [event["id"] for event in events] == list(
        week.order_by("id").values_list("id", flat=True)
    )
    assert len(events) > 0
    assert Counter(event["type"] for event in events) == Counter(
        week.values_list("type", flat=True)
    )
    first = events[0]
    assert set(first) == {"id", "type", "user_id", "created_at", "transaction_id", "payload"}
    assert isinstance(first["id"], int)
    assert isinstance(first["payload"], str)
    assert first["created_at"].endswith("Z")
    assert json.loads(first["payload"]) == week.get(pk=first["id"]).payload
    # and each rollup file holds the week's rows with the same figures
    activity = read_lines(tmp_path / "analytics_activity.jsonl")
    assert [(row["day"], row["dau"], row["mau"]) for row in activity] == [
        (row.day.isoformat(), row.dau, row.mau)
        for row in DailyActivity.objects.filter(day__range=(since, until)).order_by("day")
    ]
    gold = read_lines(tmp_path / "analytics_gold.jsonl")
    assert sum(row["entries"] for row in gold) == sum(
        GoldFlowDaily.objects.filter(day__range=(since, until)).values_list("entries", flat=True)
    )
    games = read_lines(tmp_path / "analytics_games.jsonl")
    assert sum(row["rounds"] for row in games) == week.filter(type="round_settled").count()
    assert sum(row["rounds"] for row in games) == sum(
        GameDaily.objects.filter(day__range=(since, until)).values_list("rounds", flat=True)
    )
    retention = read_lines(tmp_path / "analytics_retention.jsonl")
    assert (
        len(retention) == RetentionCohort.objects.filter(signup_day__range=(since, until)).count()
    )
    assert all(set(row) >= {"signup_day", "players", "d1", "d7", "d30"} for row in retention)


def test_re_exporting_a_range_writes_the_same_bytes(month, tmp_path):
    since, until = month.first_day.isoformat(), month.last_day.isoformat()
    run("--since", since, "--until", until, "--out", str(tmp_path / "a"))
    run("--since", since, "--until", until, "--out", str(tmp_path / "b"))

    names = sorted(path.name for path in (tmp_path / "a").iterdir())
    assert "domain_events.jsonl" in names
    assert "analytics_funnel.jsonl" in names
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_resume_continues_after_the_cursor(month, tmp_path):
    # given a first resumed export of everything so far
    run("--resume", "--out", str(tmp_path))
    cursor = json.loads((tmp_path / "cursor.json").read_text())
    first = read_lines(tmp_path / "domain_events.jsonl")
    assert cursor["events"] == len(first) == DomainEvent.objects.count()
    assert cursor["last_event_id"] == max(event["id"] for event in first)

    # when two more events are written and the export resumes
    later = [
        DomainEvent.objects.create(type="round_settled", user_id=month.first_user_id,
                                   payload={"game": "slot", "bet": 10, "payout": 0},
                                   transaction_id=cursor["last_transaction_id"] + 1)
        for _ in range(2)
    ]  # fmt: skip
    run("--resume", "--out", str(tmp_path))

    # then only those two are exported and the cursor moved past them
    assert [event["id"] for event in read_lines(tmp_path / "domain_events.jsonl")] == [
        event.pk for event in later
    ]
    assert json.loads((tmp_path / "cursor.json").read_text())["last_event_id"] == later[-1].pk

    # and a third run with nothing new exports nothing and keeps the cursor
    run("--resume", "--out", str(tmp_path))
    assert read_lines(tmp_path / "domain_events.jsonl") == []
    assert json.loads((tmp_path / "cursor.json").read_text())["last_event_id"] == later[-1].pk


def test_the_command_refuses_bad_arguments(tmp_path):
    with pytest.raises(CommandError, match="--since is required"):
        run("--out", str(tmp_path))
    with pytest.raises(CommandError, match="not a date"):
        run("--since", "March", "--out", str(tmp_path))
    today = timezone.localdate()
    with pytest.raises(CommandError, match="before"):
        run("--since", today.isoformat(), "--until", (today - timedelta(days=1)).isoformat())
    assert list(tmp_path.iterdir()) == []
