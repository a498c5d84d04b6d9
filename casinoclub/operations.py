"""Operations players notice: maintenance mode and announcement banners.

Invariants:
- maintenance mode is one row (``MaintenanceState`` id 1), changed only by ``maintenance_set``:
  a staff member with ``casinoclub.switch_maintenance``, one audit row per change, in the change's
  transaction. Turning it on first settles every open crash round (the ``maintenance_starting``
  signal, answered by games), so no round stays open while play is refused;
- while it is on, every gold-moving request (they all run through ``casinoclub.idempotency``)
  answers 503 ``maintenance`` with ``Retry-After``; staff routes, read routes, the pages and the
  admin keep working. The flag is read from the cache (one Redis read) behind a per-process copy
  of at most ``LOCAL_SECONDS``; a change rewrites the cached value after commit;
- announcements are shown between ``starts_at`` and ``ends_at`` on every page from one cached
  list (no query per page), rewritten whenever staff save or delete one; each is pushed once over
  the socket when it starts (``announcements_push_started``: the ``pushed_at`` update decides
  which beat run sends it, so two runs never both do).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import django.dispatch
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone, translation
from rest_framework import status

from .errors import ApplicationError
from .models import Announcement, MaintenanceState
from .realtime.messages import AnnouncementData, iso_utc

MAINTENANCE_CACHE_KEY = "ops:maintenance:v1"
ANNOUNCEMENTS_CACHE_KEY = "ops:announcements:v1"
CACHE_SECONDS = 300  # a lost invalidation heals by itself within this
LOCAL_SECONDS = 2.0  # how stale one process's copy of the maintenance flag may be

# Sent (inside the switch's transaction, before the flag is stored) when maintenance starts.
# games settles its open crash rounds; receivers must not raise for an ordinary state.
maintenance_starting = django.dispatch.Signal()


class MaintenanceMode(ApplicationError):
    code = "maintenance"
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    message = "The casino is closed for maintenance; your gold is safe. Try again later."

    def response_headers(self) -> dict[str, str]:
        seconds = (self.details or {}).get("retry_after_seconds", 600)
        return {"Retry-After": str(int(seconds))}


@dataclass(frozen=True)
class Maintenance:
    is_on: bool
    message_en: str = ""
    message_ko: str = ""
    retry_after_seconds: int = 600

    def message(self, language: str | None = None) -> str:
        language = language or translation.get_language() or settings.LANGUAGE_CODE
        own = self.message_ko if language.startswith("ko") else self.message_en
        return own or self.message_en or self.message_ko


_OFF = Maintenance(is_on=False)
_local: dict[str, Any] = {"value": None, "read_at": 0.0}


def _maintenance_from_row(row: MaintenanceState | None) -> Maintenance:
    if row is None:
        return _OFF
    return Maintenance(
        is_on=row.is_on,
        message_en=row.message_en,
        message_ko=row.message_ko,
        retry_after_seconds=row.retry_after_seconds,
    )


def maintenance_get() -> Maintenance:
    """The switch as this process last read it (at most ``LOCAL_SECONDS`` old), from the cache,
    from the database on a miss."""
    now = time.monotonic()
    value = _local["value"]
    if value is not None and now - _local["read_at"] < LOCAL_SECONDS:
        return value
    cached = cache.get(MAINTENANCE_CACHE_KEY)
    if isinstance(cached, dict):
        value = Maintenance(**cached)
    else:
        value = _maintenance_from_row(MaintenanceState.objects.filter(pk=1).first())
        cache.set(MAINTENANCE_CACHE_KEY, value.__dict__, CACHE_SECONDS)
    _local.update(value=value, read_at=now)
    return value


def maintenance_local_forget() -> None:
    """Drop this process's copy (tests; the admin after a change)."""
    _local.update(value=None, read_at=0.0)


def maintenance_check() -> None:
    """Raise ``MaintenanceMode`` (503, ``Retry-After``) while maintenance is on."""
    state = maintenance_get()
    if state.is_on:
        raise MaintenanceMode(
            state.message("en") or None,
            details={"retry_after_seconds": state.retry_after_seconds},
        )


def maintenance_set(
    *,
    actor: Any,
    is_on: bool,
    message_en: str = "",
    message_ko: str = "",
    retry_after_seconds: int = 600,
    reason: str = "",
) -> Maintenance:
    """Turn maintenance on or off (``actor``: the staff member, checked by the caller for
    ``casinoclub.switch_maintenance``). Turning it on settles open crash rounds first. Writes one
    ``maintenance_on`` / ``maintenance_off`` audit row; the cached flag is rewritten after commit.
    Idempotent in effect (the same state again writes a row but changes nothing else)."""
    from accounts.services import audit_log_record

    with transaction.atomic():
        row, _ = MaintenanceState.objects.select_for_update().get_or_create(pk=1)
        before = _maintenance_from_row(row)
        if is_on and not row.is_on:
            maintenance_starting.send(sender=MaintenanceState)
        row.is_on = is_on
        row.message_en = message_en
        row.message_ko = message_ko
        row.retry_after_seconds = max(1, int(retry_after_seconds))
        row.changed_at = timezone.now()
        row.save()
        after = _maintenance_from_row(row)
        audit_log_record(
            actor=actor,
            action="maintenance_on" if is_on else "maintenance_off",
            target="maintenance",
            before=before.__dict__,
            after=after.__dict__,
            reason=reason,
        )
        transaction.on_commit(lambda: _maintenance_cache_write(after))
    return after


def _maintenance_cache_write(value: Maintenance) -> None:
    cache.set(MAINTENANCE_CACHE_KEY, value.__dict__, CACHE_SECONDS)
    maintenance_local_forget()


# ---------------------------------------------------------------- announcements


@dataclass(frozen=True)
class ActiveAnnouncement:
    id: int
    severity: str
    text_en: str
    text_ko: str
    starts_at: datetime
    ends_at: datetime

    def text(self, language: str | None = None) -> str:
        language = language or translation.get_language() or settings.LANGUAGE_CODE
        return self.text_ko if language.startswith("ko") else self.text_en


def _announcements_cached() -> list[ActiveAnnouncement]:
    cached = cache.get(ANNOUNCEMENTS_CACHE_KEY)
    if isinstance(cached, list):
        return [ActiveAnnouncement(**item) for item in cached]
    rows = [
        ActiveAnnouncement(
            id=row.pk,
            severity=row.severity,
            text_en=row.text_en,
            text_ko=row.text_ko,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
        )
        for row in Announcement.objects.filter(ends_at__gt=timezone.now()).order_by("starts_at")
    ]
    cache.set(ANNOUNCEMENTS_CACHE_KEY, [row.__dict__ for row in rows], CACHE_SECONDS)
    return rows


def announcements_active(now: datetime | None = None) -> list[ActiveAnnouncement]:
    """The announcements running now, oldest start first (from the cache)."""
    now = now or timezone.now()
    return [row for row in _announcements_cached() if row.starts_at <= now < row.ends_at]


def announcements_changed() -> None:
    """Staff saved or deleted an announcement: the cached list is rebuilt on the next read."""
    transaction.on_commit(lambda: cache.delete(ANNOUNCEMENTS_CACHE_KEY))


def announcement_message(row: ActiveAnnouncement | Announcement) -> AnnouncementData:
    return {
        "id": row.pk if isinstance(row, Announcement) else row.id,
        "severity": row.severity,
        "text": row.text_en if settings.LANGUAGE_CODE == "en" else row.text_ko,
        "text_en": row.text_en,
        "text_ko": row.text_ko,
        "ends_at": iso_utc(row.ends_at),
    }


def announcements_push_started(now: datetime | None = None) -> int:
    """Push every announcement that has started and not been pushed to the players online now
    (beat: every 30 s). Each is claimed by setting ``pushed_at`` first, so it is pushed once even
    with two runs at a time. Returns how many announcements were pushed."""
    from .realtime.presence import presence_online_user_ids
    from .realtime.services import realtime_publish

    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Announcement.objects.select_for_update(skip_locked=True)
            .filter(pushed_at__isnull=True, starts_at__lte=now, ends_at__gt=now)
            .order_by("pk")
        )
        if not due:
            return 0
        Announcement.objects.filter(pk__in=[row.pk for row in due]).update(pushed_at=now)
        # only accounts that exist and may play (a stale presence entry must not fail the push)
        online = list(
            get_user_model()
            .objects.filter(pk__in=presence_online_user_ids(), is_active=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for row in due:
            message = announcement_message(row)
            for user_id in online:
                realtime_publish(user_id, "announcement", message)
    return len(due)


# ---------------------------------------------------------------- pages


def operations_context(request: HttpRequest) -> dict[str, Any]:
    """Template context for every page: the running announcements and the maintenance notice."""
    if request.path.startswith(("/api/", "/admin/")):
        return {}
    language = translation.get_language()
    maintenance = maintenance_get()
    return {
        "announcements": [
            {"id": row.id, "severity": row.severity, "text": row.text(language)}
            for row in announcements_active()
        ],
        "maintenance": {"message": maintenance.message(language)} if maintenance.is_on else None,
    }
