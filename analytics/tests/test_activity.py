"""A player counts as active on the day of any authenticated request or socket, written once per
player per day (a Redis flag in front of one upsert), never per request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from redis import Redis

from accounts.tests.factories import UserFactory
from analytics.models import PlayerActivity
from analytics.services.activity import (
    activity_flag_key,
    activity_record,
    activity_session_start,
)
from casinoclub.realtime.tests.helpers import access_token, async_test, db, open_synced_socket
from shop.tests.factories import GoldPackFactory


def activity_statements(queries: CaptureQueriesContext) -> list[str]:
    return [
        query["sql"]
        for query in queries.captured_queries
        if "analytics_playeractivity" in query["sql"]
    ]


@pytest.mark.django_db
def test_many_requests_in_a_day_write_the_activity_once(client_for):
    # given a player with a token
    player = UserFactory()
    client = client_for(player)

    # when the player makes five authenticated requests
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            assert client.get("/api/users/me").status_code == 200

    # then exactly one statement wrote the day's row
    assert len(activity_statements(queries)) == 1
    (row,) = PlayerActivity.objects.filter(user=player)
    assert (row.day, row.sessions, row.shop_viewed) == (timezone.localdate(), 0, False)


@pytest.mark.django_db
def test_a_request_after_the_first_of_the_day_adds_no_statement(client_for):
    # given a player whose first request of the day is behind them
    player = UserFactory()
    client = client_for(player)
    client.get("/api/users/me")

    # when the next request runs
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/users/me").status_code == 200

    # then it costs no analytics statement at all
    assert activity_statements(queries) == []
    assert PlayerActivity.objects.count() == 1


@pytest.mark.django_db
def test_an_anonymous_request_records_nothing(api_client):
    # when a request without credentials arrives
    with CaptureQueriesContext(connection) as queries:
        api_client.get("/api/users/me")

    # then no activity is written
    assert activity_statements(queries) == []
    assert PlayerActivity.objects.count() == 0


@pytest.mark.django_db
def test_the_first_catalog_view_of_the_day_marks_the_shop_viewed_in_one_statement(client_for):
    # given a player and a gold pack on sale
    GoldPackFactory(code="pack")
    player = UserFactory()
    client = client_for(player)

    # when the player opens the catalog three times and another page once
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert client.get("/api/shop/catalog").status_code == 200
        client.get("/api/users/me")

    # then one statement wrote the day's row, with the shop viewed
    assert len(activity_statements(queries)) == 1
    (row,) = PlayerActivity.objects.filter(user=player)
    assert row.shop_viewed is True


@pytest.mark.django_db
def test_a_new_day_writes_a_new_row():
    # given a player active late yesterday
    player = UserFactory()
    now = timezone.now()
    yesterday = now - timedelta(days=1)

    # when they are active yesterday and today
    assert activity_record(player.pk, now=yesterday) is True
    assert activity_record(player.pk, now=yesterday) is False
    assert activity_record(player.pk, now=now) is True

    # then each day has its own row
    assert sorted(PlayerActivity.objects.values_list("day", flat=True)) == [
        timezone.localdate(yesterday),
        timezone.localdate(now),
    ]


@pytest.mark.django_db
def test_the_day_is_the_product_time_zone_day():
    # given 23:30 UTC, which is already the next morning in Seoul
    player = UserFactory()
    moment = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)

    # when the player is active
    activity_record(player.pk, now=moment)

    # then the row is dated the Seoul day
    assert PlayerActivity.objects.get().day.isoformat() == "2026-03-02"


@pytest.mark.django_db
def test_the_flag_lives_until_the_end_of_the_day():
    # given 22:00 in Seoul
    player = UserFactory()
    moment = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)

    # when the player is active
    activity_record(player.pk, now=moment)

    # then the day's flag expires two hours later, at Seoul midnight (plus a second)
    key = cache.make_key(activity_flag_key(player.pk, timezone.localdate(moment)))
    ttl = Redis.from_url(settings.REDIS_URL).ttl(key)
    assert 2 * 3600 - 5 <= ttl <= 2 * 3600 + 1


@pytest.mark.django_db
def test_sessions_count_socket_connects_and_the_requests_after_them_do_not_write(client_for):
    # given a player with two socket sessions today
    player = UserFactory()
    with CaptureQueriesContext(connection) as connects:
        activity_session_start(player.pk)
        activity_session_start(player.pk)
    assert len(activity_statements(connects)) == 2  # one upsert per session, nothing else

    # when they make requests
    with CaptureQueriesContext(connection) as queries:
        client_for(player).get("/api/users/me")

    # then the requests wrote nothing more, and the day has two sessions
    assert activity_statements(queries) == []
    (row,) = PlayerActivity.objects.filter(user=player)
    assert row.sessions == 2


@pytest.mark.django_db(transaction=True)
@async_test
async def test_a_socket_connect_counts_the_player_active_with_one_session():
    # given a player
    player = await db(UserFactory)()

    # when they open a socket twice
    for _ in range(2):
        communicator, _ = await open_synced_socket(await db(access_token)(player))
        await communicator.disconnect()

    # then the day has one row with two sessions
    rows = await db(lambda: list(PlayerActivity.objects.filter(user=player).values_list(
        "day", "sessions")))()  # fmt: skip
    assert rows == [(timezone.localdate(), 2)]


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_requests_and_sessions_make_one_row_and_lose_no_session():
    # given a player with no activity today
    import threading

    from django.db import connections

    player = UserFactory()
    cache.clear()
    barrier = threading.Barrier(4)

    def visit() -> None:
        try:
            barrier.wait(timeout=10)
            for _ in range(5):
                activity_record(player.pk)
                activity_session_start(player.pk)
        finally:
            connections.close_all()

    # when four threads record activity and sessions at once
    threads = [threading.Thread(target=visit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # then the day has one row holding every session
    assert list(PlayerActivity.objects.filter(user=player).values_list("sessions", flat=True)) == [
        20
    ]
