"""Missions and events as a projection of the event log (rounds, purchases, streak claims).

Set-based: a batch locks its players' mission rows of the periods its events fall in and their
participations in the events running then (each in primary-key order, after the players'
wallets), folds the events in Python in log order — counted in the periods of each event's time,
capped at the target, stopping at completion, one ``progress_version`` step per change — and
writes each table with ONE statement (an ``INSERT … SELECT FROM unnest … ON CONFLICT`` for the
mission rows, an ``UPDATE … FROM unnest`` for the participations). A reversal that cannot take
back progress a claimed reward needed flags the purchase for review (``purchase_review_flagged``,
applied by the shop's projection).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from accounts.services import wallets_lock
from casinoclub import domain_events
from casinoclub.projections import Event, Projection
from casinoclub.realtime.messages import EventProgressItem
from events import services
from events.models import Event as LiveEvent
from events.models import EventParticipation, Mission, MissionProgress, RequirementType
from events.periods import current_period_starts, period_start

EVENT_PROGRESS = "event_progress"

_AMOUNT_FIELDS = ("plays", "wins", "gold_spent", "gold_won", "purchases", "streak_days")


@dataclass
class _MissionRow:
    id: int | None  # None: created by this batch
    user_id: int
    mission: Mission
    period_start: date
    progress: int
    progress_version: int
    completed_at: datetime | None
    claimed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    changed: bool = False


@dataclass
class _Participation:
    id: int
    user_id: int
    event: LiveEvent
    joined_at: datetime
    progress: int
    progress_version: int
    completed_at: datetime | None
    claimed_at: datetime | None
    changed: bool = False


def _advanced(progress: int, amount: int, requirement_type: str) -> int:
    """The progress a contribution makes before the target caps it."""
    if requirement_type == RequirementType.STREAK_DAYS:
        return max(progress, amount)
    return progress + amount


def _due(progress: int, amount: int, target: int, requirement_type: str, done: bool) -> bool:
    if done or amount <= 0 or progress >= target:
        return False
    return requirement_type != RequirementType.STREAK_DAYS or progress < amount


def _mission_item(row: _MissionRow) -> EventProgressItem:
    return services._item(
        "mission",
        row.mission.pk,
        row.mission.period,
        row.period_start.isoformat(),
        row.progress,
        row.mission.target,
        row.progress_version,
        row.completed_at is not None,
    )


def _event_item(row: _Participation) -> EventProgressItem:
    return services._item(
        "event",
        row.event.pk,
        None,
        None,
        row.progress,
        row.event.target,
        row.progress_version,
        row.completed_at is not None,
    )


class _Folder:
    """The batch's rows, locked once, changed in Python event by event."""

    def __init__(self, facts: list[tuple[domain_events.Fact, datetime]]) -> None:
        user_ids = sorted({fact.user_id for fact, _at in facts})
        days = {timezone.localdate(at) for _fact, at in facts}
        times = [at for _fact, at in facts]
        for fact, _at in facts:
            if isinstance(fact, domain_events.PurchaseReversed):
                days.add(timezone.localdate(fact.succeeded_at))
                times.append(fact.succeeded_at)
        starts = sorted({start for day in days for start in current_period_starts(day).values()})
        self.missions = {mission.pk: mission for mission in Mission.objects.all()}
        self.active = sorted(
            (mission for mission in self.missions.values() if mission.is_active),
            key=lambda mission: mission.pk,
        )
        self.rows: dict[tuple[int, int, date], _MissionRow] = {}
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, user_id, mission_id, period_start, progress, progress_version,"
                " completed_at, claimed_at, created_at, updated_at FROM events_missionprogress"
                " WHERE user_id = ANY(%s) AND period_start = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
                [user_ids, starts],
            )
            for row in cursor.fetchall():
                mission = self.missions[row[2]]
                self.rows[(row[1], row[2], row[3])] = _MissionRow(
                    row[0], row[1], mission, row[3], *row[4:]
                )
        self.participations: dict[int, list[_Participation]] = {}
        participations = (
            EventParticipation.objects.select_for_update(of=("self",))
            .select_related("event")
            .filter(
                user_id__in=user_ids,
                event__starts_at__lte=max(times),
                event__ends_at__gt=min(times),
            )
            .order_by("pk")
        )
        for p in participations:
            self.participations.setdefault(p.user_id, []).append(
                _Participation(
                    p.pk, p.user_id, p.event, p.joined_at, p.progress, p.progress_version,
                    p.completed_at, p.claimed_at,
                )
            )  # fmt: skip
        self.review_flags: list[domain_events.PurchaseReviewFlagged] = []
        # a replay's claims of the rows it creates (the live rows' claimed_at)
        self.claimed: dict[tuple[int, int, date], datetime | None] = {}
        self.is_replay = False  # a replay (check, repair) sends nothing

    @classmethod
    def for_replay(cls) -> _Folder:
        """A folder that replays the whole log from zero (``check_projections``): no row
        locked, every row starts empty; claims and joins are facts of the live rows."""
        folder = cls.__new__(cls)
        folder.missions = {mission.pk: mission for mission in Mission.objects.all()}
        folder.active = sorted(
            (mission for mission in folder.missions.values() if mission.is_active),
            key=lambda mission: mission.pk,
        )
        folder.rows = {}
        folder.claimed = {
            (row[0], row[1], row[2]): row[3]
            for row in MissionProgress.objects.filter(claimed_at__isnull=False).values_list(
                "user_id", "mission_id", "period_start", "claimed_at"
            )
        }
        folder.participations = {}
        for p in EventParticipation.objects.select_related("event").order_by("pk"):
            folder.participations.setdefault(p.user_id, []).append(
                _Participation(p.pk, p.user_id, p.event, p.joined_at, 0, 0, None, p.claimed_at)
            )
        folder.review_flags = []
        folder.is_replay = True
        return folder

    def apply(self, fact: domain_events.Fact, at: datetime) -> None:
        if isinstance(fact, domain_events.RoundSettled):
            self.record(services.contribution_of_round(fact), at)
        elif isinstance(fact, domain_events.PurchaseSucceeded):
            self.record(services.contribution_of_purchase(fact), at)
        elif isinstance(fact, domain_events.PurchaseReversed):
            self.reverse(fact)
        elif isinstance(fact, domain_events.RewardClaimed):
            self.record(services.contribution_of_reward(fact), at)

    def record(self, contribution: services.Contribution, at: datetime) -> None:
        """Advance the player's missions of the periods of ``at`` and the events they had joined
        that were running at ``at`` (capped at the target, stopping at completion); one
        ``event_progress`` (folded into the batch's ``progress_update``)."""
        if contribution.is_empty():
            return
        amounts = {name: getattr(contribution, name) for name in _AMOUNT_FIELDS}
        starts = current_period_starts(timezone.localdate(at))
        items: list[EventProgressItem] = []
        for mission in self.active:
            amount = amounts.get(mission.requirement_type, 0)
            if amount <= 0 or mission.game not in ("", contribution.game):
                continue
            start = starts[mission.period]
            key = (contribution.user_id, mission.pk, start)
            row = self.rows.get(key)
            if row is None:
                row = _MissionRow(
                    None, contribution.user_id, mission, start, 0, 0, None,
                    self.claimed.get(key), at, at, True,
                )  # fmt: skip
                self.rows[key] = row
            if not _due(
                row.progress,
                amount,
                mission.target,
                mission.requirement_type,
                row.completed_at is not None,
            ):
                continue
            reached = _advanced(row.progress, amount, mission.requirement_type)
            row.progress = min(mission.target, reached)
            row.progress_version += 1
            row.completed_at = at if reached >= mission.target else None
            row.updated_at = at
            row.changed = True
            items.append(_mission_item(row))
        for participation in self.participations.get(contribution.user_id, []):
            event = participation.event
            amount = amounts.get(event.requirement_type, 0)
            if not (
                event.is_active
                and event.starts_at <= at < event.ends_at
                and participation.joined_at <= at  # progress counts from the moment of joining
                and event.game in ("", contribution.game)
                and _due(
                    participation.progress,
                    amount,
                    event.target,
                    event.requirement_type,
                    participation.completed_at is not None,
                )
            ):
                continue
            reached = _advanced(participation.progress, amount, event.requirement_type)
            participation.progress = min(event.target, reached)
            participation.progress_version += 1
            participation.completed_at = at if reached >= event.target else None
            participation.changed = True
            items.append(_event_item(participation))
        if items and not self.is_replay:
            services._publish(contribution.user_id, "progress", items)

    def reverse(self, fact: domain_events.PurchaseReversed) -> None:
        """Take a reversed purchase's contribution back from the rows it advanced (the missions of
        the periods it counted in, the events joined and running then), never below what the
        player's other standing purchases earned; a claimed row that would fall below its
        target keeps its reward and flags the purchase for review."""
        contribution = services.contribution_of_reversed_purchase(fact)
        amounts = {
            name: getattr(contribution, name)
            for name in ("plays", "wins", "gold_spent", "gold_won", "purchases")
        }
        types = {name for name, amount in amounts.items() if amount > 0}
        if not types:
            return
        counted_at, others_at = fact.succeeded_at, fact.other_purchases_at
        day = timezone.localdate(counted_at)
        now = timezone.now()
        reasons: list[str] = []
        items: list[EventProgressItem] = []
        rows = sorted(
            (
                row
                for row in self.rows.values()
                if row.user_id == fact.user_id
                and row.mission.requirement_type in types
                and row.period_start == period_start(row.mission.period, day)
            ),
            key=lambda row: (row.id is None, row.id or 0),
        )
        for row in rows:
            mission = row.mission
            remaining = max(0, row.progress - amounts[mission.requirement_type])
            if mission.requirement_type == RequirementType.PURCHASES:
                others = sum(
                    period_start(mission.period, timezone.localdate(at)) == row.period_start
                    for at in others_at
                )
                remaining = max(remaining, min(mission.target, others))
            if row.claimed_at is not None:
                if remaining < mission.target and "mission_reward_claimed" not in reasons:
                    reasons.append("mission_reward_claimed")
                continue
            if remaining == row.progress:
                continue
            row.progress = remaining
            row.progress_version += 1
            if remaining < mission.target:
                row.completed_at = None
            row.updated_at = now
            row.changed = True
            items.append(_mission_item(row))
        for participation in self.participations.get(fact.user_id, []):
            event = participation.event
            if not (
                event.requirement_type in types
                and participation.joined_at <= counted_at
                and event.starts_at <= counted_at < event.ends_at
            ):
                continue
            remaining = max(0, participation.progress - amounts[event.requirement_type])
            if event.requirement_type == RequirementType.PURCHASES:
                since = max(participation.joined_at, event.starts_at)
                others = sum(since <= at < event.ends_at for at in others_at)
                remaining = max(remaining, min(event.target, others))
            if participation.claimed_at is not None:
                if remaining < event.target and "event_reward_claimed" not in reasons:
                    reasons.append("event_reward_claimed")
                continue
            if remaining == participation.progress:
                continue
            participation.progress = remaining
            participation.progress_version += 1
            if remaining < event.target:
                participation.completed_at = None
            participation.changed = True
            items.append(_event_item(participation))
        if items and not self.is_replay:
            services._publish(fact.user_id, "progress", items)
        if reasons:
            self.review_flags.append(
                domain_events.PurchaseReviewFlagged(
                    user_id=fact.user_id, receipt=fact.receipt, reasons=tuple(reasons)
                )
            )

    def save(self) -> None:
        rows = sorted(
            (row for row in self.rows.values() if row.changed),
            key=lambda row: (row.user_id, row.mission.pk, row.period_start),
        )
        if rows:
            with connection.cursor() as cursor:
                cursor.execute(_MISSION_ROWS_UPSERT, _columns(rows, _MISSION_COLUMNS))
        participations = sorted(
            (p for ps in self.participations.values() for p in ps if p.changed),
            key=lambda p: p.id,
        )
        if participations:
            with connection.cursor() as cursor:
                cursor.execute(
                    _PARTICIPATIONS_UPDATE, _columns(participations, _PARTICIPATION_COLUMNS)
                )


_MISSION_COLUMNS = {
    "users": lambda row: row.user_id,
    "missions": lambda row: row.mission.pk,
    "starts": lambda row: row.period_start,
    "progress": lambda row: row.progress,
    "versions": lambda row: row.progress_version,
    "completed": lambda row: row.completed_at,
    "created": lambda row: row.created_at,
    "updated": lambda row: row.updated_at,
}
_MISSION_ROWS_UPSERT = """
INSERT INTO events_missionprogress AS p (user_id, mission_id, period_start, progress,
    progress_version, completed_at, created_at, updated_at)
SELECT * FROM unnest(%(users)s::bigint[], %(missions)s::bigint[], %(starts)s::date[],
    %(progress)s::bigint[], %(versions)s::bigint[], %(completed)s::timestamptz[],
    %(created)s::timestamptz[], %(updated)s::timestamptz[])
ON CONFLICT (user_id, mission_id, period_start) DO UPDATE SET progress = EXCLUDED.progress,
    progress_version = EXCLUDED.progress_version, completed_at = EXCLUDED.completed_at,
    updated_at = EXCLUDED.updated_at
"""
_PARTICIPATION_COLUMNS = {
    "ids": lambda row: row.id,
    "progress": lambda row: row.progress,
    "versions": lambda row: row.progress_version,
    "completed": lambda row: row.completed_at,
}
_PARTICIPATIONS_UPDATE = """
UPDATE events_eventparticipation AS p SET progress = b.progress,
    progress_version = b.progress_version, completed_at = b.completed_at
FROM unnest(%(ids)s::bigint[], %(progress)s::bigint[], %(versions)s::bigint[],
    %(completed)s::timestamptz[]) AS b(id, progress, progress_version, completed_at)
WHERE p.id = b.id
"""


def _columns(rows: list[Any], columns: dict[str, Any]) -> dict[str, list[Any]]:
    return {name: [value(row) for row in rows] for name, value in columns.items()}


def event_progress_apply(events: list[Event]) -> None:
    """Fold the batch in log order and write each table once (see the module's docstring)."""
    facts = [
        (domain_events.fact_of(event.type, event.user_id, event.payload), event.created_at)
        for event in events
    ]
    # the lock order of claims and rounds: the players' wallets first, then their progress rows
    wallets_lock({fact.user_id for fact, _at in facts})
    folder = _Folder(facts)
    for fact, at in facts:
        folder.apply(fact, at)
    folder.save()
    for flag in folder.review_flags:
        domain_events.domain_event_record(flag)


_EVENT_TYPES = frozenset(
    {"round_settled", "purchase_succeeded", "purchase_reversed", "reward_claimed"}
)
MISSION_ROWS_RETENTION_DAYS = 56  # closed rows older than this are deleted by the reset task


def _replayed(events: list[Event]) -> _Folder:
    folder = _Folder.for_replay()
    for event in events:
        folder.apply(
            domain_events.fact_of(event.type, event.user_id, event.payload), event.created_at
        )
    return folder


def _mission_rows_found(active: set[int]) -> dict[tuple[int, int, date], _MissionRow]:
    return {
        (row.user_id, row.mission_id, row.period_start): _MissionRow(
            row.pk,
            row.user_id,
            row.mission,
            row.period_start,
            row.progress,
            row.progress_version,
            row.completed_at,
            row.claimed_at,
            row.created_at,
            row.updated_at,
        )
        for row in MissionProgress.objects.filter(mission_id__in=active).select_related("mission")
    }


def _compared(
    folder: _Folder,
) -> tuple[
    list[tuple[tuple[int, int, date], _MissionRow | None, _MissionRow | None]],
    list[tuple[EventParticipation, _Participation | None]],
]:
    """The mission rows and participations (of active missions and events) whose progress or
    completion differs from the replay: (key, replayed, found) and (found, replayed)."""
    from datetime import timedelta

    active = {mission.pk for mission in folder.active}
    expected = {key: row for key, row in folder.rows.items() if key[1] in active}
    actual = _mission_rows_found(active)
    kept_from = timezone.localdate() - timedelta(days=MISSION_ROWS_RETENTION_DAYS)

    def state(row: _MissionRow | None) -> tuple[int, bool]:
        return (row.progress, row.completed_at is not None) if row else (0, False)

    missions = [
        (key, expected.get(key), actual.get(key))
        for key in sorted(set(expected) | set(actual))
        if not (key not in actual and key[2] < kept_from)  # deleted by the reset task
        and state(expected.get(key)) != state(actual.get(key))
    ]
    replayed = {p.id: p for ps in folder.participations.values() for p in ps}
    participations = []
    for participation in EventParticipation.objects.filter(event__is_active=True).order_by("pk"):
        replay = replayed.get(participation.pk)
        want = (replay.progress, replay.completed_at is not None) if replay else (0, False)
        if want != (participation.progress, participation.completed_at is not None):
            participations.append((participation, replay))
    return missions, participations


def event_progress_differences() -> list[str]:
    """Replay the whole log from zero against the current catalog and compare the progress
    (and completion) of every mission row and participation of an active mission or event.

    Claims and joins are taken from the live rows. Rows of periods older than the reset task's
    retention may be gone. A mission or event whose target staff edited, or that was created
    while its period's rounds were already logged, shows as a difference (staff know why).
    """
    from casinoclub.projections import events_of_types

    missions, participations = _compared(_replayed(events_of_types(_EVENT_TYPES)))
    differences = [
        f"{EVENT_PROGRESS} mission (user, mission, period) {key} (progress, completed):"
        f" expected {(want.progress, want.completed_at is not None) if want else (0, False)},"
        f" found {(have.progress, have.completed_at is not None) if have else (0, False)}"
        for key, want, have in missions
    ]
    differences += [
        f"{EVENT_PROGRESS} event (user, event) ({found.user_id}, {found.event_id})"
        f" (progress, completed): expected"
        f" {(want.progress, want.completed_at is not None) if want else (0, False)},"
        f" found {(found.progress, found.completed_at is not None)}"
        for found, want in participations
    ]
    return differences


def event_progress_repair(events: list[Event]) -> int:
    """Write the replayed progress of every differing row (a claimed row stays completed, a
    version only grows); pays nothing, sends nothing."""
    missions, participations = _compared(_replayed(events))
    users = {key[0] for key, _want, _have in missions} | {p.user_id for p, _ in participations}
    if not users:
        return 0
    wallets_lock(users)  # the lock order of claims and batches
    now = timezone.now()
    rows = []
    for (user_id, _mission_id, _start), want, have in missions:
        base = have or want
        assert base is not None
        claimed = have is not None and have.claimed_at is not None
        completed = want.completed_at if want else None
        if claimed and completed is None:
            completed = have.completed_at if have else None
        rows.append(
            _MissionRow(
                base.id, user_id, base.mission, base.period_start,
                want.progress if want else 0,
                max(
                    (have.progress_version + 1) if have else 0,
                    want.progress_version if want else 0,
                ),
                completed, None, have.created_at if have else now, now, True,
            )
        )  # fmt: skip
    if rows:
        with connection.cursor() as cursor:
            cursor.execute(_MISSION_ROWS_UPSERT, _columns(rows, _MISSION_COLUMNS))
    fixed = [
        _Participation(
            found.pk,
            found.user_id,
            found.event,
            found.joined_at,
            want.progress if want else 0,
            max(found.progress_version + 1, want.progress_version if want else 0),
            (want.completed_at if want else None)
            or (found.completed_at if found.claimed_at else None),
            found.claimed_at,
        )
        for found, want in participations
    ]
    if fixed:
        with connection.cursor() as cursor:
            cursor.execute(_PARTICIPATIONS_UPDATE, _columns(fixed, _PARTICIPATION_COLUMNS))
    return len(rows) + len(fixed)


PROJECTIONS = (
    Projection(
        name=EVENT_PROGRESS,
        event_types=_EVENT_TYPES,
        apply=event_progress_apply,
        differences=event_progress_differences,
        repair=event_progress_repair,
    ),
)
