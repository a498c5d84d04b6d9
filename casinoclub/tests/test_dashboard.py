import itertools

import pytest

from casinoclub.tests.projection_helpers import caught_up
from games.tests.factories import funded_player
from shop.tests.test_shop import client_for

keys = (f"dash-{n:08d}" for n in itertools.count())


def spin(client):
    response = client.post(
        "/api/games/slot/spin", {"bet": 10}, format="json", HTTP_IDEMPOTENCY_KEY=next(keys)
    )
    caught_up()  # missions are a projection of the round, applied after it
    return response


@pytest.mark.django_db
def test_dashboard_is_one_snapshot_in_a_bounded_number_of_queries(django_assert_max_num_queries):
    player = funded_player(1000)
    client = client_for(player)
    for _ in range(3):
        spin(client)
    client.get("/api/dashboard")  # first call creates the lazily made rows (seeds, configs)

    # 10 + 3 for the limits: today's play counts, a running block, the live configurations
    with django_assert_max_num_queries(13):
        body = client.get("/api/dashboard").json()
    for _ in range(4):
        spin(client)
    with django_assert_max_num_queries(13):  # more history, same number of queries
        again = client.get("/api/dashboard").json()

    assert set(body) == {
        "profile",
        "streak",
        "vip",
        "claimable",
        "events",
        "missions",
        "recent_rounds",
        "limits",
        "generated_at",
    }
    assert body["profile"]["id"] == player.pk
    assert len(body["recent_rounds"]) == 3
    assert len(again["recent_rounds"]) == 5
    assert body["claimable"]["streak"] is True
    assert any(m["progress"] for m in body["missions"])


@pytest.mark.django_db
def test_dashboard_requires_login(api_client):
    assert api_client.get("/api/dashboard").status_code == 401
