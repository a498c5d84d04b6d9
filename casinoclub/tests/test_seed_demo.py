"""The demo seed gives a first visit something to do: an event, a season to buy, rivals to beat."""

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import LedgerEntry, User
from accounts.tokens import token_pair_for_user
from events.models import Event
from games.models import GameRound
from gamification.models import Season
from shop.models import LimitedPackage


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for_user(user)['access']}")
    return client


def counts() -> tuple[int, ...]:
    return (
        User.objects.count(),
        Event.objects.count(),
        Season.objects.count(),
        LimitedPackage.objects.count(),
        GameRound.objects.count(),
        LedgerEntry.objects.count(),
    )


@pytest.mark.django_db
def test_seed_demo_creates_a_running_event_a_season_with_premium_and_a_leaderboard():
    # given a fresh install
    now = timezone.now()

    # when the demo is seeded twice
    call_command("seed_demo", password="Demo-passw0rd!")
    after_first = counts()
    call_command("seed_demo", password="Demo-passw0rd!")

    # then the second run changed nothing
    assert counts() == after_first
    # a new player sees a running event
    newcomer = User.objects.get(site_id="user001")
    client = client_for(newcomer)
    events = client.get("/api/events/").json()["events"]
    running = [event for event in events if event["status"] == "active"]
    assert [event["title"] for event in running] == ["Welcome week: play 10 rounds"]
    # a current battle-pass season whose premium pass is on sale
    season = Season.objects.get(starts_at__lte=now, ends_at__gt=now)
    assert season.tiers.count() == 10
    packages = client.get("/api/shop/limited-packages").json()["packages"]
    [premium] = [
        package
        for package in packages
        if season.premium_item_code in [item["item_code"] for item in package["items"]]
    ]
    assert premium["on_sale"] is True
    assert (premium["price"], premium["currency"]) == (9_900, "KRW")
    # and a leaderboard with more than one player, showing their frames
    board = client.get("/api/games/leaderboard?period=daily").json()["entries"]
    assert sorted(entry["nickname"] for entry in board) == ["HighRoller", "JadeTiger", "LuckySeven"]
    frames = {entry["nickname"]: [item["name"] for item in entry["equipped"]] for entry in board}
    assert frames == {
        "LuckySeven": ["Gold avatar frame"],
        "HighRoller": ["Silver avatar frame"],
        "JadeTiger": ["Bronze avatar frame"],
    }
    # while the demo players themselves have not played: their first visit is a first visit
    assert client.get("/api/dashboard").json()["first_visit"] is True
