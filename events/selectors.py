"""Reads of events and missions, shaped for the player (and, without player data, for anyone)."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from rest_framework.utils.encoders import JSONEncoder

from casinoclub.i18n import active_language, localized
from casinoclub.realtime.messages import EventProgressItem

from . import exceptions
from .models import Event, EventParticipation, EventStatus, Mission, MissionProgress
from .periods import current_period_starts, period_ends_at

PUBLIC_EVENTS_CACHE_KEY = "events:public:v1"  # one entry per language: f"{key}:{language}"


def _is_complete(completed_at: datetime | None, progress: int, target: int) -> bool:
    # A staff edit may lower a target below progress already made: that counts as complete.
    return completed_at is not None or progress >= target


def event_status(event: Event, now: datetime) -> EventStatus:
    if now < event.starts_at:
        return EventStatus.UPCOMING
    return EventStatus.ACTIVE if now < event.ends_at else EventStatus.ENDED


def event_progress_item(event: Event, participation: EventParticipation) -> EventProgressItem:
    """The ``event_progress`` item of a participation."""
    return {
        "scope": "event",
        "id": event.pk,
        "period": None,
        "period_start": None,
        "progress": participation.progress,
        "target": event.target,
        "progress_version": participation.progress_version,
        "completed": _is_complete(participation.completed_at, participation.progress, event.target),
        "claimed": participation.claimed_at is not None,
        "expired": False,
    }


def mission_progress_item(mission: Mission, row: MissionProgress) -> EventProgressItem:
    """The ``event_progress`` item of a mission progress row."""
    return {
        "scope": "mission",
        "id": mission.pk,
        "period": mission.period,
        "period_start": row.period_start.isoformat(),
        "progress": row.progress,
        "target": mission.target,
        "progress_version": row.progress_version,
        "completed": _is_complete(row.completed_at, row.progress, mission.target),
        "claimed": row.claimed_at is not None,
        "expired": row.closed_at is not None and row.claimed_at is None,
    }


def _requirement(item: Event | Mission) -> dict[str, Any]:
    return {"type": item.requirement_type, "game": item.game or None, "target": item.target}


def event_public(event: Event, now: datetime) -> dict[str, Any]:
    """An event as anyone may see it: no player data."""
    return {
        "id": event.pk,
        "title": localized(event, "title"),
        "description": localized(event, "description"),
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "status": event_status(event, now),
        "requirement": _requirement(event),
        "reward": {"gold": event.reward_gold, "xp": event.reward_xp},
    }


def event_for_player(
    event: Event, participation: EventParticipation | None, now: datetime
) -> dict[str, Any]:
    """An event with the caller's participation (``None`` before joining)."""
    joined: dict[str, Any] | None = None
    if participation is not None:
        completed = _is_complete(participation.completed_at, participation.progress, event.target)
        claimed = participation.claimed_at is not None
        joined = {
            "joined_at": participation.joined_at,
            "progress": participation.progress,
            "progress_version": participation.progress_version,
            "completed": completed,
            "completed_at": participation.completed_at,
            "claimed": claimed,
            "claimed_at": participation.claimed_at,
            "claimable": completed and not claimed,
        }
    return {
        **event_public(event, now),
        "can_join": participation is None and event_status(event, now) == EventStatus.ACTIVE,
        "participation": joined,
    }


def event_list(user_id: int, now: datetime) -> list[dict[str, Any]]:
    """Active and upcoming events, plus ended ones whose reward the caller can still claim."""
    unclaimed = EventParticipation.objects.filter(
        event=OuterRef("pk"), user_id=user_id, completed_at__isnull=False, claimed_at__isnull=True
    )
    events = list(Event.objects.filter(Q(ends_at__gt=now) | Exists(unclaimed), is_active=True))
    participations = {
        p.event_id: p for p in EventParticipation.objects.filter(user_id=user_id, event__in=events)
    }
    return [event_for_player(event, participations.get(event.pk), now) for event in events]


def event_get(user_id: int, event_id: int, now: datetime) -> dict[str, Any]:
    """One active event with the caller's participation. Raises ``EventNotFound``."""
    event = Event.objects.filter(pk=event_id, is_active=True).first()
    if event is None:
        raise exceptions.EventNotFound()
    participation = EventParticipation.objects.filter(user_id=user_id, event=event).first()
    return event_for_player(event, participation, now)


def mission_for_player(
    mission: Mission, row: MissionProgress | None, start: date
) -> dict[str, Any]:
    """A mission in its current period with the caller's progress (0 before any)."""
    progress = row.progress if row else 0
    completed = row is not None and _is_complete(row.completed_at, row.progress, mission.target)
    claimed = row is not None and row.claimed_at is not None
    return {
        "id": mission.pk,
        "code": mission.code,
        "title": localized(mission, "title"),
        "description": localized(mission, "description"),
        "period": mission.period,
        "period_start": start,
        "resets_at": period_ends_at(mission.period, start),
        "requirement": _requirement(mission),
        "reward": {"gold": mission.reward_gold, "xp": mission.reward_xp},
        "progress": progress,
        "progress_version": row.progress_version if row else 0,
        "completed": completed,
        "claimed": claimed,
        "claimable": completed and not claimed,
    }


def mission_list(user_id: int, period: str | None, day: date) -> list[dict[str, Any]]:
    """Active missions of ``period`` (``None``: every period) in the periods containing the local
    ``day``, with the caller's progress. Two queries."""
    starts = current_period_starts(day)
    missions = Mission.objects.filter(is_active=True)
    if period is not None:
        missions = missions.filter(period=period)
    missions_list = list(missions)
    in_current_period = Q()
    for each_period, start in starts.items():
        in_current_period |= Q(mission__period=each_period, period_start=start)
    rows = {
        row.mission_id: row
        for row in MissionProgress.objects.filter(
            in_current_period, user_id=user_id, mission__in=missions_list
        )
    }
    return [
        mission_for_player(mission, rows.get(mission.pk), starts[mission.period])
        for mission in missions_list
    ]


def public_event_list(now: datetime) -> list[dict[str, Any]]:
    """Public events running at ``now``: what the no-login page shows."""
    events = Event.objects.filter(
        is_active=True, is_public=True, starts_at__lte=now, ends_at__gt=now
    )
    return [event_public(event, now) for event in events]


def public_events_snapshot() -> tuple[dict[str, Any], str]:
    """The public events payload and its strong ETag, cached ``PUBLIC_EVENTS_CACHE_SECONDS``.

    The ETag is the SHA-256 of the payload's canonical JSON, so it changes exactly when the
    payload does and every web process computes the same one. Titles are in the active language,
    so each language has its own entry (and its own ETag).
    """
    cache_key = f"{PUBLIC_EVENTS_CACHE_KEY}:{active_language()}"
    cached = cache.get(cache_key)
    if cached is not None:
        payload, etag = cached
        return payload, etag
    events = public_event_list(timezone.now())
    # Round-trip through JSON (DRF's encoder, like every other response) so a cache hit and a
    # miss return identical values.
    canonical = json.dumps({"events": events}, cls=JSONEncoder, sort_keys=True)
    payload = json.loads(canonical)
    etag = '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'
    cache.set(cache_key, (payload, etag), settings.PUBLIC_EVENTS_CACHE_SECONDS)
    return payload, etag


def events_overlapping(start: datetime, end: datetime) -> list[Event]:
    """Events (active or not) running at some moment of [start, end), by start (the calendar)."""
    return list(
        Event.objects.filter(starts_at__lt=end, ends_at__gt=start).order_by("starts_at", "id")
    )


def progress_rows(since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Event and mission participation in [since, until), per event and per mission:
    ``{"kind", "ref_id", "name", "joined", "completed", "claimed"}`` (player rows that joined,
    completed and claimed in the range; a mission row is one player's period). For periodic
    rollups, not for page views."""

    def in_range(field: str) -> Q:
        return Q(**{f"{field}__gte": since, f"{field}__lt": until})

    result: list[dict[str, Any]] = []
    sources: list[tuple[str, Any, str, str, str]] = [
        ("event", EventParticipation.objects, "event_id", "event__title", "joined_at"),
        ("mission", MissionProgress.objects, "mission_id", "mission__title", "created_at"),
    ]
    for kind, rows, key, name, joined in sources:
        touched = rows.filter(in_range(joined) | in_range("completed_at") | in_range("claimed_at"))
        for row in (
            touched.values(key, name)
            .annotate(
                joined=Count("id", filter=in_range(joined)),
                completed=Count("id", filter=in_range("completed_at")),
                claimed=Count("id", filter=in_range("claimed_at")),
            )
            .order_by(key)
        ):
            result.append(
                {"kind": kind, "ref_id": row[key], "name": row[name], "joined": row["joined"],
                 "completed": row["completed"], "claimed": row["claimed"]}
            )  # fmt: skip
    return result
