"""Concurrent claims and rounds of one player, forced on PostgreSQL with real threads."""

import pytest
from django.utils import timezone

from accounts.models import LedgerEntry, LedgerReason, User
from accounts.selectors import ledger_violations
from accounts.tests.test_races import run_together
from events.models import MissionProgress
from events.tests.factories import EventFactory, MissionFactory
from events.tests.helpers import balance, client_of, post, spin
from games.tests.factories import funded_player

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_claims_of_one_mission_pay_exactly_once():
    player = funded_player(10_000)
    mission = MissionFactory(target=1, reward_gold=250, reward_xp=40)
    spin(client_of(player))
    gold = balance(player)
    level, xp = User.objects.values_list("level", "experience").get(pk=player.pk)

    responses = run_together(
        8,
        lambda i: post(
            client_of(player), f"/api/events/missions/claim/{mission.pk}", key=f"race-claim-{i:03d}"
        ),
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [409] * 7
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {
        "already_claimed"
    }
    assert balance(player) == gold + 250
    assert (
        LedgerEntry.objects.filter(wallet_id=player.pk, reason=LedgerReason.MISSION_REWARD).count()
        == 1
    )
    assert User.objects.values_list("level", "experience").get(pk=player.pk) == (level, xp + 40)
    assert MissionProgress.objects.get(user=player, mission=mission).claimed_at is not None
    assert ledger_violations() == []


def test_concurrent_rounds_count_every_play_once():
    player = funded_player(10_000)
    mission = MissionFactory(code="many", target=100)
    event = EventFactory(target=100)
    client = client_of(player)
    post(client, "/api/events/join", {"event_id": event.pk})

    statuses = run_together(
        10,
        lambda i: (
            post(
                client_of(player), "/api/games/slot/spin", {"bet": 10}, key=f"race-spin-{i:03d}"
            ).status_code
        ),
    )

    assert statuses == [200] * 10
    row = MissionProgress.objects.get(
        user=player, mission=mission, period_start=timezone.localdate()
    )
    assert (row.progress, row.progress_version) == (10, 10)
    participation = event.participations.get(user=player)
    assert (participation.progress, participation.progress_version) == (10, 10)
