"""The analytics dashboard: only staff with ``analytics.view_analytics``; charts, tables and CSV
read from the rollups."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.roles import ECONOMY, SUPPORT
from accounts.tests.factories import staff_member
from analytics.models import DailyActivity, GameDaily, RevenueDaily

pytestmark = pytest.mark.django_db

URL = "/admin/analytics/"


def signed_in(client, user):  # type: ignore[no-untyped-def]
    client.force_login(user)
    return client


def test_staff_without_the_permission_get_403_and_players_the_login(client):
    # given a support member (no analytics permission) and a staff-less visitor
    support = staff_member(SUPPORT)

    # then support is refused and an anonymous visitor is sent to the admin login
    assert signed_in(client, support).get(URL).status_code == 403
    client.logout()
    response = client.get(URL)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_the_page_shows_each_rollup_as_a_chart_and_a_table(client):
    # given two rolled-up days and a member of the economy role
    DailyActivity.objects.create(day=date(2026, 3, 1), dau=40, wau=90, mau=200, new_players=5,
                                 sessions=100, shop_viewers=8)  # fmt: skip
    DailyActivity.objects.create(day=date(2026, 3, 2), dau=50, wau=95, mau=210, new_players=7,
                                 sessions=120, shop_viewers=9)  # fmt: skip
    GameDaily.objects.create(day=date(2026, 3, 2), game="slot", players=3, rounds=10, bet=1000,
                             payout=960)  # fmt: skip
    economy = staff_member(ECONOMY)

    # when they open the range
    with CaptureQueriesContext(connection) as queries:
        response = signed_in(client, economy).get(URL, {"start": "2026-03-01", "end": "2026-03-02"})

    # then every table is there with its SVG chart, no script, and the rows
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count("<svg") >= 6
    assert "<script" not in body.split('id="content"')[-1]
    assert "<td>0.2381</td>" in body  # stickiness 50 / 210
    assert "<td>0.96</td>" in body  # observed RTP of the slot
    # and only the rollup tables were read, never a raw table
    raw = ("accounts_ledgerentry", "casinoclub_domainevent", "shop_purchase",
           "analytics_playeractivity")  # fmt: skip
    assert not [q["sql"] for q in queries.captured_queries if any(t in q["sql"] for t in raw)]


def test_the_csv_download_holds_the_rows_of_the_range(client):
    # given revenue in two currencies on one day and another day outside the range
    RevenueDaily.objects.create(day=date(2026, 3, 2), currency="KRW", sales=9800, refunds=4900,
                                net=4900, payers=2, first_payers=1, dau=10)  # fmt: skip
    RevenueDaily.objects.create(day=date(2026, 3, 2), currency="USD", sales=499, refunds=0,
                                net=499, payers=1, first_payers=1, dau=10)  # fmt: skip
    RevenueDaily.objects.create(day=date(2026, 3, 9), currency="KRW", sales=1, refunds=0, net=1,
                                payers=1, first_payers=0, dau=1)  # fmt: skip
    economy = staff_member(ECONOMY)

    # when the revenue CSV of 1–2 March is downloaded
    response = signed_in(client, economy).get(
        URL, {"start": "2026-03-01", "end": "2026-03-02", "table": "revenue", "format": "csv"}
    )

    # then it is the two rows of the range, one currency each, with the derived figures
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "analytics-revenue-2026-03-01-2026-03-02.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["day", "currency", "sales", "refunds", "net", "payers", "first_payers", "dau", "arpdau",
         "arppu", "first_purchase_conversion"],
        ["2026-03-02", "KRW", "9800", "4900", "4900", "2", "1", "10", "490.0", "2450.0", "0.1"],
        ["2026-03-02", "USD", "499", "0", "499", "1", "1", "10", "49.9", "499.0", "0.1"],
    ]  # fmt: skip


def test_a_bad_range_is_a_400_not_an_error(client):
    economy = staff_member(ECONOMY)
    signed_in(client, economy)

    assert client.get(URL, {"start": "2026-03-05", "end": "2026-03-01"}).status_code == 400
    assert client.get(URL, {"start": "yesterday"}).status_code == 400
    assert client.get(URL, {"format": "csv"}).status_code == 400  # CSV of one table only
    assert client.get(URL, {"table": "nope", "format": "csv"}).status_code == 400
