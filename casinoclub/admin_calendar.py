"""The live-ops calendar: events, battle-pass seasons, limited packages and discounts on one
timeline, server-rendered (docs/decisions/0182-live-ops-calendar.md).

One row per item, one column per day of the range in the schedule time zone (``TIME_ZONE``); a
cell is marked when the item runs at some moment of that day. Each kind is listed only to staff
who may view its model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from events.selectors import events_overlapping
from gamification.selectors import seasons_overlapping
from shop.selectors import discounts_overlapping, limited_packages_overlapping

DEFAULT_DAYS = 28
MAX_DAYS = 92

# Kind → (label, the permission to see it, the admin change URL name).
KINDS = {
    "event": ("Event", "events.view_event", "admin:events_event_change"),
    "season": (
        "Battle-pass season",
        "gamification.view_season",
        "admin:gamification_season_change",
    ),
    "package": ("Limited package", "shop.view_limitedpackage", "admin:shop_limitedpackage_change"),
    "discount": ("Discount", "shop.view_product", "admin:shop_product_change"),
}


class CalendarRangeForm(forms.Form):
    start = forms.DateField(
        required=False, help_text=f"YYYY-MM-DD in {settings.TIME_ZONE}; empty: today."
    )
    days = forms.IntegerField(min_value=1, max_value=MAX_DAYS, required=False, initial=DEFAULT_DAYS)


@dataclass(frozen=True)
class CalendarItem:
    kind: str
    name: str
    starts_at: datetime | None  # None: a discount, which runs from when it was set
    ends_at: datetime | None  # None: a discount without an end
    url: str
    detail: str
    days: tuple[bool, ...]

    @property
    def label(self) -> str:
        return KINDS[self.kind][0]


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _days_on(
    days: list[date], starts_at: datetime | None, ends_at: datetime | None
) -> tuple[bool, ...]:
    """For each day, whether [starts_at, ends_at) overlaps it (None: open on that side)."""
    marks = []
    for day in days:
        day_start, day_end = _midnight(day), _midnight(day + timedelta(days=1))
        after_start = starts_at is None or starts_at < day_end
        before_end = ends_at is None or ends_at > day_start
        marks.append(after_start and before_end)
    return tuple(marks)


def calendar_items(
    start: datetime, end: datetime, days: list[date], kinds: set[str]
) -> list[CalendarItem]:
    """Every item of ``kinds`` running at some moment of [start, end), by start."""
    rows: list[tuple[str, str, datetime | None, datetime | None, int, str]] = []
    if "event" in kinds:
        for event in events_overlapping(start, end):
            state = "" if event.is_active else " (inactive)"
            rows.append(("event", event.title, event.starts_at, event.ends_at, event.pk, state))
    if "season" in kinds:
        for season in seasons_overlapping(start, end):
            rows.append(("season", season.name, season.starts_at, season.ends_at, season.pk, ""))
    if "package" in kinds:
        for package in limited_packages_overlapping(start, end):
            detail = f"{package.remaining_stock:,} of {package.total_stock:,} left"
            if not package.is_active:
                detail += " (inactive)"
            rows.append(("package", package.name, package.starts_at, package.ends_at, package.pk,
                         detail))  # fmt: skip
    if "discount" in kinds:
        for product in discounts_overlapping(start, end):
            rows.append(("discount", product.name, product.discount_starts_at,
                         product.discount_ends_at, product.pk,
                         f"−{product.discount_percent}%"))  # fmt: skip
    rows.sort(key=lambda row: (row[2] or start, row[3] or end, row[0], row[1]))
    return [
        CalendarItem(
            kind=kind,
            name=name,
            starts_at=starts_at,
            ends_at=ends_at,
            url=reverse(KINDS[kind][2], args=[pk]),
            detail=detail,
            days=_days_on(days, starts_at, ends_at),
        )
        for kind, name, starts_at, ends_at, pk, detail in rows
    ]


def calendar_view(site: admin.AdminSite, request: HttpRequest) -> HttpResponse:
    kinds = {
        kind for kind, (_, permission, _) in KINDS.items() if request.user.has_perm(permission)
    }
    if not kinds:
        return HttpResponse(status=403)
    form = CalendarRangeForm(request.GET or None)
    first_day = timezone.localdate()
    length = DEFAULT_DAYS
    status = 200
    if request.GET:
        if form.is_valid():
            first_day = form.cleaned_data["start"] or first_day
            length = form.cleaned_data["days"] or DEFAULT_DAYS
        else:
            status = 400
    days = [first_day + timedelta(days=offset) for offset in range(length)]
    start, end = _midnight(days[0]), _midnight(days[-1] + timedelta(days=1))
    context: dict[str, Any] = {
        **site.each_context(request),
        "title": "Live-ops calendar",
        "form": form,
        "days": days,
        "today": timezone.localdate(),
        "items": calendar_items(start, end, days, kinds),
        "kinds": [KINDS[kind][0] for kind in KINDS if kind in kinds],
        "time_zone": settings.TIME_ZONE,
        "previous_start": (days[0] - timedelta(days=length)).isoformat(),
        "next_start": (days[-1] + timedelta(days=1)).isoformat(),
        "length": length,
    }
    return TemplateResponse(request, "admin/live_ops_calendar.html", context, status=status)


def calendar_urls(site: admin.AdminSite) -> list[URLPattern]:
    def view(request: HttpRequest) -> HttpResponse:
        return calendar_view(site, request)

    return [path("calendar/", site.admin_view(view), name="live_ops_calendar")]
