"""The live-ops calendar and the schedule time zone on schedule forms (docs/decisions/0182)."""

import re
import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import ECONOMY, SUPPORT
from accounts.tests.factories import staff_member
from events.tests.factories import EventFactory
from gamification.tests.factories import SeasonFactory
from shop.tests.factories import GoldPackFactory, LimitedPackageFactory

pytestmark = pytest.mark.django_db

CALENDAR = reverse("admin:live_ops_calendar")
SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")  # the schedule time zone (TIME_ZONE)


def seoul(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SEOUL)


def listed(html: str) -> list[tuple[str, str]]:
    """(kind, name) of every calendar row."""
    rows = re.findall(r'<tr class="calendar-item kind-(\w+)".*?<a href="[^"]*">([^<]*)</a>', html,
                      flags=re.S)  # fmt: skip
    return [(kind, name) for kind, name in rows]


def day_marks(html: str, name: str) -> str:
    """The row of ``name`` as a string of day marks: "x" on, "." off."""
    row = re.search(rf">{re.escape(name)}</a>.*?</tr>", html, flags=re.S)
    assert row is not None
    cells = re.findall(r'<td class="day( on)?">', row.group(0))
    return "".join("x" if on else "." for on in cells)


def test_the_calendar_lists_an_event_and_a_package_in_range_and_none_outside_it(client):
    # given an event and a package inside 2027-03-01..07 (Asia/Seoul), and others outside it
    EventFactory(title="Spring spins", starts_at=seoul(2027, 3, 2, 10), ends_at=seoul(2027, 3, 4))
    LimitedPackageFactory(name="Cherry bundle", starts_at=seoul(2027, 3, 6, 12),
                          ends_at=seoul(2027, 3, 20))  # fmt: skip
    EventFactory(title="Winter event", starts_at=seoul(2027, 2, 1), ends_at=seoul(2027, 3, 1))
    LimitedPackageFactory(name="Summer bundle", starts_at=seoul(2027, 3, 8),
                          ends_at=seoul(2027, 3, 9))  # fmt: skip
    client.force_login(staff_member(None, is_superuser=True))

    # when staff look at that week
    response = client.get(CALENDAR, {"start": "2027-03-01", "days": 7})

    # then only the two inside it are listed, on the days they run
    html = response.content.decode()
    assert response.status_code == 200
    assert listed(html) == [("event", "Spring spins"), ("package", "Cherry bundle")]
    assert day_marks(html, "Spring spins") == ".xx...."  # 2 10:00 until 4 00:00
    assert day_marks(html, "Cherry bundle") == ".....xx"
    assert "Schedule time zone: Asia/Seoul." in html


def test_the_calendar_shows_seasons_and_discounts_on_the_same_timeline(client):
    SeasonFactory(name="Season 7", starts_at=seoul(2027, 3, 3), ends_at=seoul(2027, 4, 1))
    GoldPackFactory(name="Big pack", discount_percent=20, discount_ends_at=seoul(2027, 3, 2, 18))
    GoldPackFactory(name="Old sale", discount_percent=10, discount_ends_at=seoul(2027, 2, 20))
    client.force_login(staff_member(None, is_superuser=True))

    html = client.get(CALENDAR, {"start": "2027-03-01", "days": 4}).content.decode()

    assert listed(html) == [("discount", "Big pack"), ("season", "Season 7")]
    assert day_marks(html, "Big pack") == "xx.."
    assert day_marks(html, "Season 7") == "..xx"


def test_a_scheduled_discount_is_drawn_from_its_start(client):
    GoldPackFactory(name="Weekend sale", discount_percent=30, discount_starts_at=seoul(2027, 3, 3),
                    discount_ends_at=seoul(2027, 3, 5))  # fmt: skip
    GoldPackFactory(name="Later sale", discount_percent=30, discount_starts_at=seoul(2027, 3, 9))
    client.force_login(staff_member(None, is_superuser=True))

    html = client.get(CALENDAR, {"start": "2027-03-01", "days": 7}).content.decode()

    assert listed(html) == [("discount", "Weekend sale")]
    assert day_marks(html, "Weekend sale") == "..xx..."


def test_each_kind_is_shown_only_to_staff_who_may_view_it(client):
    EventFactory(title="Spring spins", starts_at=seoul(2027, 3, 2), ends_at=seoul(2027, 3, 4))
    LimitedPackageFactory(name="Cherry bundle", starts_at=seoul(2027, 3, 2),
                          ends_at=seoul(2027, 3, 3))  # fmt: skip

    client.force_login(staff_member(ECONOMY))  # shop yes, events no
    economy = client.get(CALENDAR, {"start": "2027-03-01", "days": 7}).content.decode()
    client.force_login(staff_member(SUPPORT))  # none of them
    support = client.get(CALENDAR, {"start": "2027-03-01", "days": 7})

    assert listed(economy) == [("package", "Cherry bundle")]
    assert support.status_code == 403


def test_a_bad_range_answers_400_not_500(client):
    client.force_login(staff_member(None, is_superuser=True))

    assert client.get(CALENDAR, {"start": "2027-02-30"}).status_code == 400
    assert client.get(CALENDAR, {"days": 1000}).status_code == 400


def test_schedule_forms_state_the_time_zone(client):
    client.force_login(staff_member(None, is_superuser=True))

    for name in ("events_event_add", "gamification_season_add", "shop_limitedpackage_add",
                 "shop_product_add"):  # fmt: skip
        html = client.get(reverse(f"admin:{name}")).content.decode()
        assert "Time zone: Asia/Seoul" in html, name


def test_the_limited_package_form_previews_the_shop_card(client):
    package = LimitedPackageFactory(name="Cherry bundle", gold_amount=25_000, price_cents=9_900,
                                    currency="KRW", total_stock=10,
                                    starts_at=timezone.now() - timedelta(hours=1))  # fmt: skip
    client.force_login(staff_member(None, is_superuser=True))

    html = client.get(reverse("admin:shop_limitedpackage_change", args=[package.pk])).content
    preview = html.decode().split('<div class="shop-card-preview">', 1)[1]

    assert 'data-testid="limited-card"' in preview
    assert "<h3>Cherry bundle</h3>" in preview
    assert "25,000 gold" in preview
    assert '<p class="price">9,900 KRW</p>' in preview
    assert 'data-testid="stock" data-value="10">10</strong> / 10' in preview


def test_the_admin_index_links_the_calendar_for_staff_who_may_see_it(client):
    client.force_login(staff_member(ECONOMY))
    economy = client.get(reverse("admin:index")).content.decode()
    client.force_login(staff_member(SUPPORT))
    support = client.get(reverse("admin:index")).content.decode()

    assert f'href="{CALENDAR}"' in economy
    assert f'href="{CALENDAR}"' not in support
