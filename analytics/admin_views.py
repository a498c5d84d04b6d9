"""The analytics dashboard in the admin: every rollup as a chart and a table over a chosen range,
each downloadable as CSV. Reads only the rollup tables (``analytics.selectors``), by day.

Who: staff with ``analytics.view_analytics`` (the economy role has it); others get 403.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.safestring import SafeString

from analytics.charts import bar_chart, line_chart
from analytics.selectors import ROLLUP_TABLES, RollupTable, rollup_last_run, rollup_rows

PERMISSION = "analytics.view_analytics"
DEFAULT_DAYS = 30
MAX_DAYS = 366


class AnalyticsRangeForm(forms.Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    table = forms.ChoiceField(required=False, choices=[("", "every table")] + [
        (name, table.title) for name, table in ROLLUP_TABLES.items()])  # fmt: skip
    format = forms.ChoiceField(required=False, choices=[("", "page"), ("csv", "CSV")])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        end = data.get("end") or timezone.localdate()
        start = data.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        if not timedelta(0) <= end - start < timedelta(days=MAX_DAYS):
            raise forms.ValidationError(
                f"Choose a range of at most {MAX_DAYS} days, start before end."
            )
        data["start"], data["end"] = start, end
        return data


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


def _per_day(rows: list[dict[str, Any]], days: list[date], field: str, day_field: str = "day"
             ) -> list[float | None]:  # fmt: skip
    totals: dict[date, float] = defaultdict(float)
    seen: set[date] = set()
    for row in rows:
        if row.get(field) is not None:
            totals[row[day_field]] += float(row[field])
            seen.add(row[day_field])
    return [totals[day] if day in seen else None for day in days]


def table_charts(name: str, rows: list[dict[str, Any]], days: list[date]) -> list[SafeString]:
    """The charts of one rollup table over ``days``."""
    labels = [day.strftime("%m-%d") for day in days]
    if name == "activity":
        series = {field: _per_day(rows, days, field) for field in ("dau", "wau", "mau")}
        return [line_chart(labels, series, "Active players per day (DAU, WAU, MAU)")]
    if name == "retention":
        series = {
            f"D{n} %": [None if v is None else v * 100
                        for v in _per_day(rows, days, f"d{n}_rate", "signup_day")]
            for n in (1, 7, 30)
        }  # fmt: skip
        return [line_chart(labels, series, "Retention by signup day (% of the cohort)")]
    if name == "funnel":
        steps = ("viewed", "attempted", "paid", "settled")
        totals = [sum(row[step] for row in rows if row["product"] == "") for step in steps]
        return [bar_chart(steps, totals, "Purchase funnel over the range (every product)")]
    if name == "revenue":
        charts = []
        for currency in sorted({row["currency"] for row in rows}):
            mine = [row for row in rows if row["currency"] == currency]
            series = {"net": _per_day(mine, days, "net"), "ARPDAU": _per_day(mine, days, "arpdau")}
            charts.append(
                line_chart(labels, series, f"Revenue per day in {currency} (minor units)")
            )
        return charts
    if name == "gold":
        series = {
            "minted": _per_day(rows, days, "minted"),
            "burned": _per_day(rows, days, "burned"),
        }
        return [line_chart(labels, series, "Gold minted (faucets) and burned (sinks) per day")]
    if name == "games":
        series = {
            game: [None if v is None else v * 100 for v in
                   _per_day([r for r in rows if r["game"] == game], days, "rtp")]
            for game in sorted({row["game"] for row in rows})
        }  # fmt: skip
        return [line_chart(labels, series, "Observed RTP per game and day (%)")]
    if name == "progress":
        series = {
            field: _per_day(rows, days, field) for field in ("joined", "completed", "claimed")
        }
        return [line_chart(labels, series, "Event and mission participation per day")]
    return []


def _csv(table: RollupTable, rows: list[dict[str, Any]], start: date, end: date) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="analytics-{table.name}-{start.isoformat()}-{end.isoformat()}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(table.columns)
    for row in rows:
        writer.writerow(["" if row[column] is None else row[column] for column in table.columns])
    return response


def analytics_view(site: admin.AdminSite, request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(PERMISSION):
        return HttpResponse(status=403)
    form = AnalyticsRangeForm(request.GET or None)
    status = 200
    end = timezone.localdate()
    start = end - timedelta(days=DEFAULT_DAYS - 1)
    chosen: list[str] = list(ROLLUP_TABLES)
    as_csv = False
    if request.GET:
        if form.is_valid():
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
            if form.cleaned_data["table"]:
                chosen = [form.cleaned_data["table"]]
            as_csv = form.cleaned_data["format"] == "csv"
        else:
            status = 400
    if as_csv:
        if len(chosen) != 1:
            return HttpResponse("Choose one table for a CSV download.", status=400)
        table = ROLLUP_TABLES[chosen[0]]
        return _csv(table, rollup_rows(table, start, end), start, end)
    days = _days(start, end)
    sections = []
    for name in chosen:
        table = ROLLUP_TABLES[name]
        rows = rollup_rows(table, start, end)
        sections.append(
            {
                "name": name,
                "title": table.title,
                "columns": table.columns,
                "rows": [[row[column] for column in table.columns] for row in rows],
                "charts": table_charts(name, rows, days),
            }
        )
    context: dict[str, Any] = {
        **site.each_context(request),
        "title": "Analytics",
        "form": form,
        "start": start,
        "end": end,
        "sections": sections,
        "last_run": rollup_last_run(start, end),
    }
    return TemplateResponse(request, "admin/analytics_dashboard.html", context, status=status)


def analytics_urls(site: admin.AdminSite) -> list[URLPattern]:
    def view(request: HttpRequest) -> HttpResponse:
        return analytics_view(site, request)

    return [path("analytics/", site.admin_view(view), name="analytics_dashboard")]
