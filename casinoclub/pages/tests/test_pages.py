"""Every player page renders for a signed-in player, redirects anonymous visitors, and carries the
test ids of the page contract."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from accounts.selectors import wallet_balance
from games import services as game_services
from games.models import CrashRound
from games.tests.crash_helpers import chain_where_first_round
from games.tests.factories import funded_player

PLAYER_PAGES = {
    "/": [
        "gold-balance",
        "streak-claim",
        "streak-count",
        "vip-claim",
        "level-bar",
        "missions",
        "lang-switch",
        "refill",
        "refill-claim",
        "announcements",
    ],
    "/play/slot/": ["slot-spin", "slot-result"],
    "/play/crash/": ["crash-multiplier", "crash-bet", "crash-cashout"],
    "/play/gacha/": ["gacha-pull-1", "gacha-pull-10", "gacha-rates", "inventory"],
    "/play/rps/": ["rps-rock", "rps-paper", "rps-scissors", "rps-result"],
    "/shop/": ["purchase-status"],
    "/events/": ["events", "missions"],
    "/achievements/": ["achievements", "battle-pass", "battle-pass-season"],
    "/history/": ["stats", "history", "leaderboard"],
    "/profile/": [
        "server-seed-hash",
        "rotate-seed",
        "verify-result",
        "responsible-play",
        "nickname-form",
    ],
    "/account/": ["email-submit", "export-data", "delete-grace", "delete-submit"],
}
PROTECTED = [path for path in PLAYER_PAGES if path != "/"]


def _initial_state(html: str) -> dict:
    found = re.search(r'id="initial-state" type="application/json">(.*?)</script>', html, re.S)
    assert found is not None
    return dict(json.loads(found[1]))


def _test_ids(html: str) -> set[str]:
    return set(re.findall(r'data-testid="([a-z0-9-]+)"', html))


@pytest.mark.django_db
@pytest.mark.parametrize("path", list(PLAYER_PAGES))
def test_every_player_page_renders_with_its_contract_test_ids(page_client, page_player, path):
    response = page_client.get(path)

    assert response.status_code == 200
    html = response.content.decode()
    assert set(PLAYER_PAGES[path]) | {"gold-balance", "lang-switch"} <= _test_ids(html)
    assert (
        f'data-testid="gold-balance" data-value="{wallet_balance(page_player.pk)}">5,000<' in html
    )
    assert 'html lang="en" data-socket="connecting"' in html
    assert 'role="status" aria-live="polite"' in html
    state = _initial_state(html)
    assert state["profile"]["id"] == page_player.pk
    assert state["profile"]["gold"] == 5_000


@pytest.mark.django_db
@pytest.mark.parametrize("path", PROTECTED)
def test_anonymous_visitors_are_sent_to_login_with_next(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


@pytest.mark.django_db
def test_anonymous_home_is_the_landing_page_with_links_to_login_and_signup(client):
    response = client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="/login/"' in html
    assert 'href="/signup/"' in html
    assert "gold-balance" not in html
    assert 'data-socket="closed"' in html
    assert "initial-state" not in html


@pytest.mark.django_db
def test_signup_and_login_forms_carry_the_api_field_names_and_test_ids(client):
    signup = client.get("/signup/").content.decode()
    login = client.get("/login/").content.decode()

    for name in ("site_id", "nickname", "phone_number", "password", "invite_code", "birth_date"):
        assert f'name="{name}"' in signup
    assert 'name="birth_date" type="date"' in signup
    assert {"signup-submit", "form-error"} <= _test_ids(signup)
    assert 'name="site_id"' in login
    assert 'name="password"' in login
    assert {"login-submit", "form-error"} <= _test_ids(login)


@pytest.mark.django_db
def test_the_shop_renders_one_card_per_product_and_limited_package(page_client, page_player):
    from django.utils import timezone

    from shop.selectors import catalog_list
    from shop.tests.factories import GoldPackFactory, LimitedPackageFactory

    gold_pack = GoldPackFactory()
    package = LimitedPackageFactory(total_stock=7)

    html = page_client.get("/shop/").content.decode()

    products = catalog_list(page_player, timezone.now())
    assert html.count('data-testid="product-card"') == len(products)
    assert f'data-testid="product-card" data-sku="{gold_pack.code}"' in html
    assert f'data-testid="limited-card" data-sku="{package.code}"' in html
    assert html.count('data-testid="buy-button"') == len(products) + 1
    assert html.count('data-testid="countdown"') == 1
    assert 'data-testid="stock" data-value="7"' in html


@pytest.mark.django_db
def test_the_crash_page_starts_from_the_shared_round_and_the_players_bet_without_its_point(
    page_client,
):
    chain_where_first_round(lambda crash: crash >= 101)
    game_services.crash_loop_step()
    bet = page_client.post(
        "/api/games/crash/bet",
        {"bet": 10},
        content_type="application/json",
        headers={"Idempotency-Key": "crash-page-0001", "X-CSRFToken": _csrf(page_client)},
    )
    assert bet.status_code == 200
    round_ = CrashRound.objects.get()

    html = page_client.get("/play/crash/").content.decode()

    state = _initial_state(html)
    assert state["my_bet"]["id"] == bet.json()["round"]["id"]
    assert state["crash_state"]["round"]["id"] == round_.pk
    assert state["crash_state"]["round"]["phase"] == "betting"
    assert state["crash_state"]["round"]["crash_point"] is None
    assert [b["amount"] for b in state["crash_state"]["bets"]] == [10]
    assert state["crash"]["growth_per_ms"] > 0
    assert round_.hash not in html


@pytest.mark.django_db
def test_a_finished_crash_rounds_page_shows_what_checks_it_and_a_running_one_is_404(page_client):
    chain_where_first_round(lambda crash: crash >= 101)
    game_services.crash_loop_step()
    round_ = CrashRound.objects.get()
    game_services.crash_loop_step(now=round_.betting_ends_at)
    running = page_client.get(f"/play/crash/rounds/{round_.pk}/")
    round_.refresh_from_db()
    game_services.crash_loop_step(now=round_.bust_at)

    html = page_client.get(f"/play/crash/rounds/{round_.pk}/").content.decode()

    assert running.status_code == 404
    assert f'data-hash="{round_.hash}"' in html
    assert f'data-previous-hash="{round_.chain.terminal_hash}"' in html
    assert f'data-crash-point="{round_.crash_x100 / 100}"' in html


def _csrf(client: Client) -> str:
    client.get("/")  # every page renders a CSRF token (the language switch): sets the cookie
    return client.cookies["csrftoken"].value


@pytest.mark.django_db
def test_a_second_player_sees_only_their_own_gold():
    first, second = funded_player(gold=111), funded_player(gold=222)
    client = Client()
    client.force_login(second)

    html = client.get("/").content.decode()

    assert 'data-testid="gold-balance" data-value="222"' in html
    assert first.nickname not in html


@pytest.mark.parametrize(
    ("cents", "currency", "shown"),
    [(1_200, "KRW", "1,200 KRW"), (1_299, "USD", "12.99 USD"), (2_000, "GOLD", "2,000")],
)
def test_prices_are_shown_in_the_currency_s_own_minor_unit(cents, currency, shown):
    from casinoclub.pages.templatetags.pages_extras import money

    assert money(cents, currency) == shown


@pytest.mark.django_db
def test_the_crash_page_reads_in_korean(page_client):
    page_client.cookies["django_language"] = "ko"

    html = page_client.get("/play/crash/").content.decode()

    assert "이번 라운드 플레이어" in html
    assert "최근 버스트 20개" in html
    assert "하우스 엣지는 1.0%입니다." in html
