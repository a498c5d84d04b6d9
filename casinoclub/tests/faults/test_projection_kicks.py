"""Spins racing through a real server while a real worker owns the partition's queue: the
coalesced after-commit asks (one waiting run per partition) never leave an event behind."""

from __future__ import annotations

import io
import threading
import uuid

import pytest
import requests
from django.core.management import call_command

from accounts.tests.factories import PASSWORD
from casinoclub.tests.processes import wait_until
from games.models import PlayerGameStats
from games.tests.factories import funded_player

pytestmark = [pytest.mark.fault, pytest.mark.timeout(120)]
PLAYERS, SPINS = 3, 12


@pytest.mark.django_db(transaction=True)
def test_every_round_of_concurrent_spins_is_projected_without_the_beat_backstop(
    web_server, celery_worker
):
    # Given a server and one worker consuming the partition's queue, and no beat
    web = web_server()
    celery_worker(queues="celery,projections.0")
    players = [funded_player(10_000, rank="VIP") for _ in range(PLAYERS)]
    tokens = []
    for player in players:
        login = requests.post(
            f"{web.base_url}/api/auth/login",
            json={"site_id": player.site_id, "password": PASSWORD},
            timeout=10,
        )
        assert login.status_code == 200, login.text
        tokens.append(login.json()["access"])
    statuses: list[int] = []

    def play(token: str) -> None:
        with requests.Session() as http:
            for _ in range(SPINS):
                response = http.post(
                    f"{web.base_url}/api/games/slot/spin",
                    json={"bet": 10},
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Idempotency-Key": uuid.uuid4().hex,
                    },
                    timeout=10,
                )
                statuses.append(response.status_code)

    # When the players spin at once
    threads = [threading.Thread(target=play, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * (PLAYERS * SPINS)

    # Then the worker applies every round, the last ones included, from the asks alone
    wait_until(
        lambda: (
            sorted(PlayerGameStats.objects.filter(game="slot").values_list("plays", flat=True))
            == [SPINS] * PLAYERS
        ),
        "every round to be projected",
        timeout=20,
    )
    call_command("check_projections", stdout=io.StringIO())  # exits 1 on any difference
