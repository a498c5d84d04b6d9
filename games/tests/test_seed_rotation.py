"""A round's secret stays secret while it can still decide a round (docs/fairness.md).

The exploit the seed rule stopped: bet on crash without an auto cash-out, rotate the seed pair,
compute the open round's crash point from the revealed seed and cash out just before it. Crash now
draws from the shared round's hash chain, so a seed pair never decides an open round; what is
left to prove is that a running round's crash point and hash show nowhere until it busts.
"""

import html
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
from django.conf import settings
from rest_framework.throttling import ScopedRateThrottle

from games import services
from games.models import FairSeed, GameRound
from games.tests.crash_helpers import running_round_with_bet
from games.tests.factories import funded_player
from games.tests.test_api import client_for

TOOL = Path(settings.BASE_DIR) / "tools" / "verify_round.py"
ROTATE = "/api/games/fairness/rotate"


def verify_tool() -> ModuleType:
    """tools/verify_round.py as a module: the standalone tool's own arithmetic, in process."""
    spec = importlib.util.spec_from_file_location("verify_round", TOOL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def seed_row(player) -> FairSeed:
    return FairSeed.objects.get(user=player, is_active=True)


@pytest.mark.django_db
def test_a_running_crash_bet_neither_uses_nor_blocks_the_seed_pair():
    # given a player with a bet in the running shared crash round
    player = funded_player(100_000)
    client = client_for(player)
    seed_before = client.get("/api/games/fairness").json()
    round_, bet_id = running_round_with_bet(client)

    # when they rotate their seed pair
    rotated = client.post(ROTATE, {"client_seed": "next"}, format="json")

    # then it is allowed (the seed decides nothing of crash) and reveals nothing of the round
    assert rotated.status_code == 200
    assert rotated.json()["previous"]["server_seed_hash"] == seed_before["server_seed_hash"]
    assert round_.hash not in rotated.content.decode()
    bet = GameRound.objects.get(pk=bet_id)
    assert (bet.fair_seed_id, bet.nonce, bet.state) == (None, None, "open")
    assert seed_row(player).nonce == 0


@pytest.mark.django_db
def test_seed_rotation_is_rate_limited(monkeypatch):
    # given a rate of two rotations a minute
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "fairness_rotate", "2/min")
    player = funded_player(100)
    client = client_for(player)

    # when the player rotates three times
    responses = [client.post(ROTATE, {}, format="json") for _ in range(3)]

    # then the third is refused and reveals nothing
    assert [response.status_code for response in responses] == [200, 200, 429]
    assert responses[2].json()["error"]["code"] == "rate_limited"
    assert "server_seed" not in responses[2].content.decode()
    assert FairSeed.objects.filter(user=player).count() == 3
    assert FairSeed.objects.filter(user=player, revealed_at__isnull=False).count() == 2


# ---------------------------------------------------------------- admin


@pytest.mark.django_db
def test_admin_never_shows_a_running_rounds_crash_point(admin_client):
    # given an open bet in the running shared round
    player = funded_player(100_000)
    round_, bet_id = running_round_with_bet(client_for(player))

    # when staff open the bet's page and the round list
    change = admin_client.get(f"/admin/games/gameround/{bet_id}/change/")
    listing = admin_client.get("/admin/games/gameround/")
    by_state = admin_client.get("/admin/games/gameround/?state__exact=open")

    # then neither shows the crash point nor the round's hash
    assert (change.status_code, listing.status_code, by_state.status_code) == (200, 200, 200)
    for page in (change, listing, by_state):
        assert "crash_x100" not in html.unescape(page.content.decode())
        assert round_.hash not in page.content.decode()
    assert "hidden until the round ends" in change.content.decode()

    # and once the round busted, the bet's page shows it
    services.crash_loop_step(now=round_.bust_at)
    settled = admin_client.get(f"/admin/games/gameround/{bet_id}/change/")
    shown = {"crash_x100": round_.crash_x100, "cashout_x100": None}
    assert json.dumps(shown, sort_keys=True) in html.unescape(settled.content.decode())


@pytest.mark.django_db
def test_admin_refuses_to_filter_rounds_or_seeds_on_secret_fields(admin_client):
    # given an open bet in the running shared round
    round_, _ = running_round_with_bet(client_for(funded_player(100_000)))
    crash_x100 = round_.crash_x100

    # when staff filter the lists on the crash point or on the server seed
    narrowed = admin_client.get(
        f"/admin/games/gameround/?state=open&outcome__crash_x100__gte={crash_x100}"
    )
    seeds = admin_client.get("/admin/games/fairseed/?server_seed__gte=00")
    through_round = admin_client.get(
        f"/admin/games/gameround/?crash_round__crash_x100__gte={crash_x100}"
    )

    # then the filters are refused: counting the rows listed would narrow the secret down
    assert (narrowed.status_code, seeds.status_code, through_round.status_code) == (400, 400, 400)


@pytest.mark.django_db
def test_history_dashboard_state_and_pages_hide_a_running_rounds_crash_point(client):
    # given an open bet in the running shared round of a player logged in to pages and API
    player = funded_player(100_000)
    api = client_for(player)
    client.force_login(player)
    round_, bet_id = running_round_with_bet(api)

    # when the player reads every place that shows rounds
    texts = [
        api.get("/api/games/history").content.decode(),
        api.get("/api/games/history?game=crash").content.decode(),
        api.get("/api/dashboard").content.decode(),
        api.get("/api/games/crash/state").content.decode(),
        api.get(f"/api/games/crash/rounds/{round_.pk}").content.decode(),
        client.get("/play/crash/").content.decode(),
        client.get("/").content.decode(),
    ]

    # then none shows the crash point or the round's hash
    assert all(f'"id":{bet_id}' in text.replace(" ", "") for text in texts[:2])
    for text in texts:
        assert "crash_x100" not in html.unescape(text)
        assert round_.hash not in text
