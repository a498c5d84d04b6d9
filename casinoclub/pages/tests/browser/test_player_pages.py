"""The player pages in Chromium against daphne: the whole player story, languages, errors, screens.

Every browser test lives in this module so the suite launches one browser (see conftest).
"""

from __future__ import annotations

import io
import json
import re
import shutil
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page, WebSocketRoute, expect

from accounts import services as account_services
from accounts.models import EquippedItem, InviteCode, LedgerEntry, User, Wallet
from accounts.selectors import experience_for_next_level
from accounts.services import level_up_reward
from accounts.tests.factories import PASSWORD, UserFactory, staff_member
from casinoclub.projections import projections_run
from events.tests.factories import MissionFactory
from games import engine
from games import services as game_services
from games.models import CrashRound, DailyPlayCount, FairSeed, GameRound
from games.selectors import engine_config, game_config_current
from games.tests.crash_helpers import chain_where_first_round
from games.tests.factories import funded_player
from gamification.models import StreakReward
from gamification.tests.factories import AchievementFactory
from liveops import services as liveops_services
from liveops.models import Notification, Target
from liveops.tests.factories import CampaignFactory
from shop import services as shop_services
from shop.models import Purchase
from shop.tests import stripe_server
from shop.tests.factories import GoldPackFactory, LimitedPackageFactory

from .browsing import (
    HANGUL,
    api_post_response,
    assert_idempotency_key,
    assert_not_reloaded,
    expect_gold,
    fill_identifier,
    gold_balance,
    html,
    mark_no_reload,
    post_signed_webhook,
    screenshot,
    sign_in,
    wait_socket_down,
    wait_socket_open,
)
from .conftest import ARTIFACTS_DIR, DESKTOP, PHONE, PLAYER_PAGES, SCREENSHOTS_DIR, PageLog
from .live_server import LiveServer, live_server_environment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECONNECT_TIMEOUT_MS = 45_000  # exponential backoff after a few failed attempts, plus jitter
# Pages anyone may open before logging in (besides the landing, signup and login pages).
PUBLIC_PAGES = {"odds": "/odds/", "verify": "/verify/"}
HANGUL_TEXT = re.compile(HANGUL)

# Records the kind of every toast the page shows, however short its time on screen.
RECORD_TOASTS = """() => {
  window.__toastKinds = [];
  const seen = (node) => {
    if (!(node instanceof Element)) return;
    const toasts = node.matches('[data-testid=toast]') ? [node] : node.querySelectorAll('[data-testid=toast]');
    for (const toast of toasts) window.__toastKinds.push(toast.getAttribute('data-kind'));
  };
  new MutationObserver((changes) => changes.forEach((change) => change.addedNodes.forEach(seen)))
    .observe(document.body, {childList: true, subtree: true});
}"""


def ledger_after(user_id: int, entry_id: int) -> list[tuple[str, int]]:
    """(reason, delta) of the wallet's ledger entries newer than ``entry_id``, oldest first."""
    return [
        (str(reason), delta)
        for reason, delta in LedgerEntry.objects.filter(wallet_id=user_id, pk__gt=entry_id)
        .order_by("pk")
        .values_list("reason", "delta")
    ]


def last_entry_id(user_id: int) -> int:
    return (
        LedgerEntry.objects.filter(wallet_id=user_id)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
        or 0
    )


def balance_of(user_id: int) -> int:
    return Wallet.objects.get(pk=user_id).balance


def test_player_story_signup_streak_spins_pending_purchase_webhook_second_tab_and_reconnect(
    open_context: Callable[..., BrowserContext], daphne_server: LiveServer, page_log: PageLog
) -> None:
    # Given: an invite code, a day-1 streak reward and a gold pack, all committed for daphne.
    (invite,) = account_services.invite_codes_create(count=1, max_uses=1, expires_at=None)
    streak_reward, _ = StreakReward.objects.get_or_create(day=1, defaults={"gold": 100})
    pack = GoldPackFactory(code="browser-pack", gold_amount=5000, price_cents=4900)
    staff = UserFactory(is_staff=True)
    context = open_context(**DESKTOP)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())

    # Sign up through the form.
    page.goto("/signup/")
    fill_identifier(page, "browserplayer")
    page.locator("form [name=nickname]").fill("BrowserPlayer")
    page.locator("form [name=phone_number]").fill("01055501234")
    page.locator("form [name=password]").fill(PASSWORD)
    page.locator("form [name=invite_code]").fill(invite.code)
    page.locator("form [name=birth_date]").fill("1990-05-17")
    with page.expect_navigation():
        page.get_by_test_id("signup-submit").click()
    user = User.objects.get(site_id="browserplayer")
    assert InviteCode.objects.get(pk=invite.pk).uses == 1
    assert ledger_after(user.pk, 0) == [("signup_bonus", settings.SIGNUP_BONUS_GOLD)]
    expect_gold(page, settings.SIGNUP_BONUS_GOLD)
    wait_socket_open(page)

    # Claim the daily streak on the home page.
    before_streak = last_entry_id(user.pk)
    with api_post_response(page, "/api/streak/claim") as claim_info:
        page.get_by_test_id("streak-claim").click()
    claim = claim_info.value
    assert claim.status == 200
    assert_idempotency_key(claim)
    claimed = claim.json()
    assert claimed["reward_gold"] == streak_reward.gold
    assert ("streak_reward", streak_reward.gold) in ledger_after(user.pk, before_streak)
    assert claimed["balance"] == balance_of(user.pk)
    expect_gold(page, claimed["balance"])
    expect(page.get_by_test_id("streak-claim")).to_be_disabled()
    expect(page.get_by_test_id("streak-count")).to_contain_text(
        str(claimed["status"]["current_streak"])
    )

    # Spin the slot three times; each settled spin sets the result's round id.
    page.goto("/play/slot/")
    wait_socket_open(page)
    bet = game_config_current("slot").min_bet
    slot_result = page.get_by_test_id("slot-result")
    page.locator("[name=bet]").fill(str(bet))
    round_ids: list[int] = []
    spin_keys: set[str] = set()
    balance = claimed["balance"]
    for _ in range(3):
        previous_round = slot_result.get_attribute("data-round-id")
        with api_post_response(page, "/api/games/slot/spin") as spin_info:
            page.get_by_test_id("slot-spin").click()
        spin = spin_info.value
        assert spin.status == 200
        spin_keys.add(assert_idempotency_key(spin))
        spun = spin.json()
        assert str(spun["round"]["id"]) != previous_round
        expect(slot_result).to_have_attribute("data-round-id", str(spun["round"]["id"]))
        round_ids.append(spun["round"]["id"])
        balance = spun["balance"]
        expect_gold(page, balance)
    assert len(spin_keys) == 3
    assert list(
        GameRound.objects.filter(user_id=user.pk).order_by("pk").values_list("pk", "bet")
    ) == [(round_id, bet) for round_id in round_ids]
    assert balance_of(user.pk) == balance

    # Buy the gold pack: the simulated gateway leaves the charge pending.
    page.goto("/shop/")
    wait_socket_open(page)
    card = page.locator(f'[data-testid=product-card][data-sku="{pack.code}"]')
    with api_post_response(page, "/api/shop/buy") as buy_info:
        card.get_by_test_id("buy-button").click()
        page.get_by_test_id("confirm-purchase").click()  # every purchase is confirmed first
    buy = buy_info.value
    assert buy.status == 200
    assert_idempotency_key(buy)
    bought = buy.json()
    receipt = bought["purchase"]["receipt"]
    assert (bought["purchase"]["status"], bought["balance"]) == ("pending", balance)
    assert Purchase.objects.get(receipt=receipt).status == "pending"
    purchase_status = page.get_by_test_id("purchase-status")
    expect(purchase_status).to_have_attribute("data-status", "pending")
    expect_gold(page, balance)

    # A second tab of the same session, opened before the provider calls back.
    second = context.new_page()
    second.goto("/")
    wait_socket_open(second)
    expect_gold(second, balance)
    for tab in (page, second):
        mark_no_reload(tab)
        tab.evaluate(RECORD_TOASTS)

    # The provider's signed webhook settles the purchase; both tabs update without reload.
    before_webhook = last_entry_id(user.pk)
    status, answer = post_signed_webhook(
        daphne_server.url,
        {"event_id": f"evt_{uuid.uuid4().hex}", "type": "payment.succeeded", "receipt": receipt},
    )
    assert (status, answer) == (200, {"status": "processed"})
    settled = Purchase.objects.get(receipt=receipt)
    assert settled.status == "success"
    credited = ledger_after(user.pk, before_webhook)
    assert ("purchase_credit", pack.gold_amount) in credited
    after_purchase = balance + sum(delta for _, delta in credited)
    assert balance_of(user.pk) == after_purchase
    expect(purchase_status).to_have_attribute("data-status", settled.status)
    for tab in (page, second):
        expect_gold(tab, after_purchase)
    page.wait_for_function("() => window.__toastKinds.includes('purchase_update')")
    for tab in (page, second):
        assert_not_reloaded(tab)

    # The socket drops (daphne goes down); staff grant gold meanwhile; the tabs reconnect.
    daphne_server.stop()
    for tab in (page, second):
        wait_socket_down(tab)
    grant = account_services.staff_gold_adjust(
        actor=staff,
        user_id=user.pk,
        amount=777,
        reason="browser test: granted while the socket is down",
        idempotency_key=uuid.uuid4().hex,
    )
    assert grant.balance_after == after_purchase + 777
    for tab in (page, second):
        expect_gold(tab, after_purchase)
    daphne_server.start()
    for tab in (page, second):
        expect(html(tab)).to_have_attribute("data-socket", "open", timeout=RECONNECT_TIMEOUT_MS)
        expect_gold(tab, grant.balance_after)
        assert_not_reloaded(tab)

    # The ledger holds: every wallet equals the sum of its entries.
    output = io.StringIO()
    call_command("check_ledger", stdout=output)
    assert output.getvalue().rstrip().endswith("ledger OK")
    assert page_log.page_errors() == []


def test_switching_language_shows_korean_pages(open_context: Callable[..., BrowserContext]) -> None:
    page = open_context(**DESKTOP).new_page()
    page.goto("/login/")
    submit = page.get_by_test_id("login-submit")
    expect(html(page)).to_have_attribute("lang", "en")
    expect(submit).not_to_have_text(HANGUL_TEXT)

    switch = page.get_by_test_id("lang-switch")
    language = switch.locator("[name=language]")
    with page.expect_navigation():
        if language.first.evaluate("element => element.tagName") == "SELECT":
            language.select_option("ko")
            if page.url.endswith("/login/"):  # a select that does not submit on change
                switch.evaluate("form => form.requestSubmit()")
        else:
            switch.locator("[name=language][value=ko]").click()

    expect(html(page)).to_have_attribute("lang", "ko")
    expect(page.get_by_test_id("login-submit")).to_have_text(HANGUL_TEXT)
    cookies = {cookie["name"]: cookie["value"] for cookie in page.context.cookies()}
    assert cookies[settings.LANGUAGE_COOKIE_NAME] == "ko"


def test_api_error_envelope_message_is_shown_for_a_bet_above_the_balance(
    open_context: Callable[..., BrowserContext],
) -> None:
    player = funded_player(50)
    balance = balance_of(player.pk)
    bet = balance + game_config_current("slot").min_bet
    page = open_context(**DESKTOP).new_page()
    sign_in(page, player.site_id, PASSWORD)
    page.goto("/play/slot/")
    wait_socket_open(page)
    entries_before = last_entry_id(player.pk)

    page.locator("[name=bet]").fill(str(bet))
    with api_post_response(page, "/api/games/slot/spin") as spin_info:
        page.get_by_test_id("slot-spin").click()
    spin = spin_info.value
    envelope = spin.json()["error"]

    assert (spin.status, envelope["code"]) == (409, "insufficient_funds")
    error_toast = page.locator("[role=status] [data-testid=toast][data-kind=error]")
    expect(error_toast.filter(has_text=envelope["message"])).to_have_count(1)
    expect_gold(page, balance)
    assert GameRound.objects.filter(user_id=player.pk).count() == 0
    assert ledger_after(player.pk, entries_before) == []
    assert balance_of(player.pk) == balance


def test_profile_changes_the_nickname_and_sets_a_purchase_limit(
    open_context: Callable[..., BrowserContext],
) -> None:
    player = funded_player(50)
    page = open_context(**DESKTOP).new_page()
    sign_in(page, player.site_id, PASSWORD)
    page.goto("/profile/")

    page.locator("[name=nickname]").fill("Renamed77")
    with page.expect_response(lambda response: response.url.endswith("/api/users/me")) as renamed:
        page.get_by_role("button", name="Change the nickname").click()
    assert renamed.value.status == 200
    expect(page.locator("[data-nickname]")).to_have_text("Renamed77")

    page.locator("[name=daily_purchase_limit_cents]").fill("5000")
    with page.expect_response(
        lambda response: response.url.endswith("/api/responsible-play/purchase-limit")
    ) as limited:
        page.get_by_role("button", name="Save the limit").click()
    assert limited.value.status == 200
    expect(page.locator("[data-responsible-status]")).to_contain_text("5000")

    player.refresh_from_db()
    assert player.nickname == "Renamed77"
    assert limited.value.json()["daily_purchase_limit_cents"] == 5000


def test_profile_changes_the_password_keeps_this_tab_and_signs_the_other_browser_out(
    open_context: Callable[..., BrowserContext],
) -> None:
    player = funded_player(50)
    new_password = "Changed-in-the-browser-1!"
    other_browser = open_context(**DESKTOP).new_page()
    sign_in(other_browser, player.site_id, PASSWORD)
    page = open_context(**DESKTOP).new_page()
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    sign_in(page, player.site_id, PASSWORD)
    page.goto("/profile/")
    wait_socket_open(page)
    sockets_before = len(sockets)

    page.locator("[name=current_password]").fill(PASSWORD)
    page.locator("[name=new_password]").fill(new_password)
    page.locator("[name=new_password_again]").fill(new_password)
    with api_post_response(page, "/api/auth/password") as changed:
        page.get_by_role("button", name="Change the password").click()

    assert changed.value.status == 204
    expect(page.locator("[data-testid=toast][data-kind=info]")).to_contain_text("Password changed")
    wait_socket_open(page)
    assert len(sockets) == sockets_before + 1  # reopened with the renewed session cookie
    page.goto("/profile/")
    expect(page.locator("[data-nickname]")).to_have_text(player.nickname)
    other_browser.goto("/profile/")
    expect(other_browser).to_have_url(re.compile(r"/login/\?next=/profile/$"))
    player.refresh_from_db()
    assert player.check_password(new_password)


def expect_shop_cards(page: Page, product_code: str, package_code: str, stock: int) -> None:
    product = page.locator(f'[data-testid=product-card][data-sku="{product_code}"]')
    expect(product.get_by_test_id("buy-button")).to_be_enabled()
    package = page.locator(f'[data-testid=limited-card][data-sku="{package_code}"]')
    expect(package.get_by_test_id("countdown")).not_to_be_empty()
    expect(package.get_by_test_id("stock")).to_have_attribute("data-value", str(stock))


def test_every_page_renders_on_desktop_and_mobile_with_screenshots(
    open_context: Callable[..., BrowserContext], page_log: PageLog
) -> None:
    shutil.rmtree(SCREENSHOTS_DIR, ignore_errors=True)
    player = funded_player(2500)
    balance = balance_of(player.pk)
    pack = GoldPackFactory(name="Bag of gold", gold_amount=12000, price_cents=9900)
    limited = LimitedPackageFactory(name="Launch week chest", total_stock=50, remaining_stock=37)
    for viewport_name, options in (("desktop", DESKTOP), ("mobile", PHONE)):
        anonymous = open_context(**options)
        page = anonymous.new_page()
        for name, path in (
            ("landing", "/"),
            ("signup", "/signup/"),
            ("login", "/login/"),
            *PUBLIC_PAGES.items(),
        ):
            response = page.goto(path)
            assert response is not None
            assert response.status == 200, path
            expect(gold_balance(page)).to_have_count(0)
            screenshot(page, SCREENSHOTS_DIR, f"{name}-{viewport_name}")
        for path in PLAYER_PAGES.values():
            if path == "/":
                continue
            redirect = anonymous.request.get(path, max_redirects=0)
            assert (redirect.status, redirect.headers["location"]) == (302, f"/login/?next={path}")

        signed_in = open_context(**options)
        page = signed_in.new_page()
        sign_in(page, player.site_id, PASSWORD)
        for name, path in PLAYER_PAGES.items():
            response = page.goto(path)
            assert response is not None
            assert response.status == 200, path
            expect_gold(page, balance)
            wait_socket_open(page)
            if name == "shop":
                expect_shop_cards(page, pack.code, limited.code, limited.remaining_stock)
            screenshot(page, SCREENSHOTS_DIR, f"{name}-{viewport_name}")
    assert sorted(path.name for path in SCREENSHOTS_DIR.glob("*.png")) == sorted(
        f"{name}-{viewport}.png"
        for name in ["landing", "signup", "login", *PUBLIC_PAGES, *PLAYER_PAGES]
        for viewport in ("desktop", "mobile")
    )
    assert page_log.page_errors() == []


def test_a_stripe_purchase_goes_to_checkout_and_back_and_settles_by_webhook(
    chromium: Browser,
) -> None:
    """With Stripe as the gateway: the shop sends the player to the hosted checkout, the checkout
    sends them back, the purchase shows pending, and Stripe's signed webhook settles it."""
    import http.client
    import json

    fake = stripe_server.start()
    fake.hosted_page = True
    server = LiveServer(environment={}, log_path=ARTIFACTS_DIR / "logs" / "daphne-stripe.log")
    server.environment = live_server_environment(
        {
            "PAYMENT_GATEWAY": "shop.stripe_gateway.StripeGateway",
            "STRIPE_SECRET_KEY": "sk_test_local",
            "STRIPE_WEBHOOK_SECRET": "whsec_browser",
            "STRIPE_API_BASE": fake.base,
            "STRIPE_MAX_NETWORK_RETRIES": "0",
            "PAYMENT_SUCCESS_URL": f"{server.url}/shop/?checkout=success&receipt={{receipt}}",
            "PAYMENT_CANCEL_URL": f"{server.url}/shop/?checkout=cancel&receipt={{receipt}}",
        }
    )
    player = funded_player(100)
    pack = GoldPackFactory(price_cents=1200, currency="KRW", gold_amount=5000)
    server.start()
    context = chromium.new_context(base_url=server.url, **DESKTOP)
    try:
        page = context.new_page()
        sign_in(page, player.site_id, PASSWORD)
        page.goto("/shop/")
        card = page.locator(f'[data-testid=product-card][data-sku="{pack.code}"]')

        with page.expect_navigation(url=re.compile(r"/shop/\?checkout=success")):
            card.get_by_test_id("buy-button").click()
            page.get_by_test_id("confirm-purchase").click()

        purchase = Purchase.objects.get(user=player)
        [create] = fake.posts("/v1/checkout/sessions")
        assert create.idempotency_key == purchase.receipt
        wait_socket_open(page)
        status = page.get_by_test_id("purchase-status")
        expect(status).to_have_attribute("data-receipt", purchase.receipt)
        body = json.dumps(
            stripe_server.event("checkout.session.completed", fake.sessions[purchase.gateway_ref])
        ).encode()
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        connection.request(
            "POST",
            "/api/shop/webhook/stripe",
            body,
            {
                "Content-Type": "application/json",
                "Stripe-Signature": stripe_server.sign(body, "whsec_browser"),
            },
        )
        answer = json.loads(connection.getresponse().read())
        connection.close()

        # Settled by this webhook, or a moment earlier by the page asking the server (same end).
        assert answer["status"] in ("processed", "ignored")
        expect(status).to_have_attribute("data-status", "success")
        expect_gold(page, 5100)
        assert page.url.endswith("/shop/")
        assert list(
            LedgerEntry.objects.filter(wallet_id=player.pk, reason="purchase_credit").values_list(
                "delta", flat=True
            )
        ) == [5000]
        assert len(fake.posts("/v1/checkout/sessions")) == 1
    finally:
        context.close()
        server.stop()
        assert fake.server is not None
        fake.server.shutdown()
        fake.server.server_close()


# ---------------------------------------------------------------- Content-Security-Policy
# Every browser test fails on a CSP violation (conftest); these visit what the player story does
# not: the admin (with its widgets and the economy dashboard's charts) and the API docs.

ADMIN_PAGES = [
    "/admin/",
    "/admin/accounts/user/",
    "/admin/accounts/user/add/",
    "/admin/accounts/invitecode/",
    "/admin/accounts/invitecode/add/",
    "/admin/shop/purchase/economy/",
    "/admin/calendar/",
    "/admin/analytics/",
    "/admin/games/gameconfig/",
    "/admin/games/gameconfig/draft/slot/",
    "/admin/games/gameconfig/draft/gacha/",
]


def test_the_admin_and_the_api_docs_run_under_the_content_security_policy(
    open_context: Callable[..., BrowserContext], page_log: PageLog
) -> None:
    staff = UserFactory(site_id="cspadmin", is_staff=True, is_superuser=True)
    buyer = funded_player(0)
    shop_services.shop_buy(buyer, GoldPackFactory(price_cents=1200, currency="KRW").code)
    page = open_context(**DESKTOP).new_page()
    login = page.goto("/admin/login/")
    assert login is not None
    policy = login.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    page.locator("#id_username").fill(staff.site_id)
    page.locator("#id_password").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("input[type=submit]").click()

    for path in ADMIN_PAGES:
        response = page.goto(path)
        assert response is not None
        assert response.status == 200, path
        assert "content-security-policy" in response.headers, path
    page.goto(f"/admin/accounts/user/{staff.pk}/change/")
    expect(page.locator(".selector-available").first).to_be_visible()  # SelectFilter2 ran
    page.goto("/admin/accounts/invitecode/add/")
    expect(page.locator(".datetimeshortcuts").first).to_be_visible()  # the date widgets ran
    page.goto(f"/admin/players/{staff.pk}/")
    expect(page.locator("#ledger")).to_be_visible()  # the player page, under the same policy
    page.goto("/admin/shop/purchase/economy/")
    expect(page.locator("#sinks-chart")).to_have_attribute("style", re.compile("width"))  # drawn
    expect(page.locator("#faucets-chart")).to_have_attribute("style", re.compile("width"))
    revenue = page.locator('canvas.revenue-chart[data-currency="KRW"]')
    expect(revenue).to_have_attribute("style", re.compile("width"))  # KRW revenue, its own chart
    expect(page.get_by_test_id("revenue-KRW")).to_have_text("1,200 KRW")

    docs = page.goto("/api/docs/")
    assert docs is not None
    assert "unsafe-inline" not in docs.headers["content-security-policy"].split("style-src")[0]
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Casino Club API")
    assert page_log.page_errors() == []
    assert page_log.csp_violations == []


def test_the_policy_refuses_an_injected_inline_script_and_the_suite_notices(
    open_context: Callable[..., BrowserContext], page_log: PageLog
) -> None:
    # What an HTML injection would smuggle into a page: the login page as the server sent it (its
    # policy header included) with an inline script and an inline event handler added.
    page = open_context(**DESKTOP).new_page()
    injection = (
        '<script>window.__injected = "script";</script>'
        '<img id="injected" src="/static/missing.png" onerror="window.__injected = \'handler\'">'
    )

    def inject(route: Any) -> None:
        response = route.fetch()
        body = response.text().replace("</body>", injection + "</body>")
        route.fulfill(response=response, body=body)

    page.route("**/login/", inject)
    page.goto("/login/")
    page.wait_for_function("() => window.__cspViolationCount >= 2")

    assert page.evaluate("() => window.__injected") is None
    reported = [v for v in page_log.csp_violations if not v.startswith("[console]")]
    assert sorted(violation.split(" on ")[0] for violation in reported) == [
        "script-src-attr blocked inline",
        "script-src-elem blocked inline",
    ]
    assert len([v for v in page_log.csp_violations if v.startswith("[console]")]) == 2
    page_log.csp_violations.clear()  # expected here: the fixture fails on any other


def _next_slot_spin(player: User, wanted: Callable[[Any], bool]) -> None:
    """Choose the player's client seed so that their next spin's outcome satisfies ``wanted``."""
    seed = game_services.fair_seed_ensure(player.pk)
    config = engine_config(game_config_current("slot"))
    for attempt in range(500):
        client_seed = f"browser-slot-{attempt}"
        outcome = engine.slot_spin(
            config, engine.FairRng(bytes(seed.server_seed), client_seed, seed.nonce)
        )
        if wanted(outcome):
            FairSeed.objects.filter(pk=seed.pk).update(client_seed=client_seed)
            return
    raise AssertionError("no client seed gives the wanted spin")


def test_the_limit_counter_counts_down_and_disables_the_spin_with_the_reason_at_the_limit(
    open_context: Callable[..., BrowserContext], page_log: PageLog
) -> None:
    # given a standard player one spin from today's slot limit
    player = funded_player(5_000)
    config = game_config_current("slot")
    limit = config.daily_limits["STANDARD"]
    DailyPlayCount.objects.create(
        user=player, game="slot", day=timezone.localdate(), count=limit - 1
    )
    page = open_context(**DESKTOP).new_page()
    sign_in(page, player.site_id, PASSWORD)
    page.goto("/play/slot/")
    wait_socket_open(page)
    plays_left = page.get_by_test_id("plays-left")
    reason = page.get_by_test_id("play-reason")
    spin_button = page.get_by_test_id("slot-spin")
    expect(plays_left).to_have_text(f"1 / {limit}")
    expect(reason).to_be_hidden()
    expect(spin_button).to_be_enabled()
    bet = page.locator("[name=bet]")
    expect(bet).to_have_attribute("min", str(config.min_bet))
    expect(bet).to_have_attribute("max", str(config.max_bet))

    # when they spin the last one
    with api_post_response(page, "/api/games/slot/spin") as spin_info:
        spin_button.click()
    spun = spin_info.value.json()
    assert spun["limits"]["plays_left"] == 0
    expect(page.get_by_test_id("slot-result")).to_have_attribute(
        "data-round-id", str(spun["round"]["id"])
    )

    # then the counter shows none left and the spin is disabled with the reason, before a click
    expect(plays_left).to_have_attribute("data-value", "0")
    expect(plays_left).to_have_text(f"0 / {limit}")
    expect(spin_button).to_be_disabled()
    expect(reason).to_be_visible()
    expect(reason).to_contain_text(f"You have played all {limit} rounds of this game today.")
    expect(spin_button).to_have_attribute("aria-describedby", "play-reason")

    # and a reload renders it disabled from the server, with nothing more played
    page.reload()
    expect(page.get_by_test_id("slot-spin")).to_be_disabled()
    expect(page.get_by_test_id("play-reason")).to_contain_text(f"You have played all {limit}")
    assert GameRound.objects.filter(user_id=player.pk).count() == 1
    assert page_log.page_errors() == []


def test_a_slot_spin_says_what_happened_to_the_gold_and_lights_the_winning_line(
    open_context: Callable[..., BrowserContext], page_log: PageLog
) -> None:
    # given a player whose next spin is a paying pair of cherries, then a spin that pays nothing
    player = funded_player(5_000)
    pair_x100 = game_config_current("slot").engine["pair"]["CHERRY"]
    _next_slot_spin(
        player,
        lambda outcome: (
            sorted(outcome.reels).count("CHERRY") == 2 and outcome.multiplier_x100 == pair_x100
        ),
    )
    page = open_context(**DESKTOP, reduced_motion="reduce").new_page()
    sign_in(page, player.site_id, PASSWORD)
    page.goto("/play/slot/")
    wait_socket_open(page)
    page.locator("[name=bet]").fill("10")
    result = page.get_by_test_id("slot-result")

    # when they spin
    with api_post_response(page, "/api/games/slot/spin") as spin_info:
        page.get_by_test_id("slot-spin").click()
    won = spin_info.value.json()["round"]
    expect(result).to_have_attribute("data-round-id", str(won["id"]))

    # then the result says the payout and the net, and the two cherries light up
    payout = 10 * pair_x100 // 100
    assert (won["payout"], won["net"]) == (payout, payout - 10)
    expect(result).to_contain_text(
        f"you get {payout:,} gold back, net +{payout - 10:,}.", use_inner_text=True
    )
    expect(result).to_have_attribute("data-net", str(payout - 10))
    expect(page.locator(".reel.winning")).to_have_count(2)
    for index in range(2):
        expect(page.locator(".reel.winning").nth(index)).to_have_attribute("data-symbol", "CHERRY")
    expect(page.locator(".reel img").first).to_have_attribute("src", re.compile(r"\.svg$"))

    # when the next spin pays nothing
    _next_slot_spin(player, lambda outcome: outcome.multiplier_x100 == 0)
    with api_post_response(page, "/api/games/slot/spin") as spin_info:
        page.get_by_test_id("slot-spin").click()
    lost = spin_info.value.json()["round"]
    expect(result).to_have_attribute("data-round-id", str(lost["id"]))

    # then it says so with the net loss, and no reel is lit
    expect(result).to_contain_text("no win this time, net -10.")
    expect(page.locator(".reel.winning")).to_have_count(0)
    assert balance_of(player.pk) == 5_000 + payout - 10 - 10
    assert page_log.page_errors() == []


def test_an_rps_draw_returns_the_bet_a_level_up_announces_its_gold_and_a_pull_tells_its_net(
    open_context: Callable[..., BrowserContext], page_log: PageLog
) -> None:
    # given a player one XP short of level 2 whose next rps hand (rock) is a draw, and an
    # achievement their first round unlocks
    AchievementFactory(code="first_hand", name="First hand", metric="games_played", threshold=1)
    player = funded_player(5_000)
    User.objects.filter(pk=player.pk).update(experience=experience_for_next_level(1) - 1)
    seed = game_services.fair_seed_ensure(player.pk)
    rps = engine_config(game_config_current("rps"))
    client_seed = next(
        f"browser-rps-{attempt}"
        for attempt in range(500)
        if engine.rps_play(
            rps,
            engine.FairRng(bytes(seed.server_seed), f"browser-rps-{attempt}", seed.nonce),
            "rock",
        ).result
        == "draw"
    )
    FairSeed.objects.filter(pk=seed.pk).update(client_seed=client_seed)
    page = open_context(**DESKTOP, reduced_motion="reduce").new_page()
    sign_in(page, player.site_id, PASSWORD)
    page.goto("/play/rps/")
    wait_socket_open(page)
    page.locator("[name=bet]").fill("10")
    result = page.get_by_test_id("rps-result")

    # when they play rock
    with api_post_response(page, "/api/games/rps/play") as play_info:
        page.get_by_test_id("rps-rock").click()
    played = play_info.value.json()["round"]
    expect(result).to_have_attribute("data-round-id", str(played["id"]))

    # then the draw says the bet is returned, net +0; the level-up with its gold and the
    # achievement share one toast, and the returned bet is no "+10 gold" toast
    assert (played["outcome"]["result"], played["net"]) == ("draw", 0)
    expect(result).to_contain_text("Draw: your bet is returned (net +0).")
    level_up = page.locator("[data-testid=toast]", has_text="Level up! You reached level 2")
    expect(level_up).to_have_count(1)
    expect(level_up).to_contain_text(f"+{level_up_reward(2):,} gold")
    expect(level_up).to_contain_text("Achievement unlocked: First hand")
    expect(page.locator("[data-testid=toast]")).to_have_count(1)
    expect(page.locator("[data-testid=toast]", has_text="+10 gold")).to_have_count(0)

    # when they pull the gacha once
    page.goto("/play/gacha/")
    wait_socket_open(page)
    with api_post_response(page, "/api/games/gacha/pull") as pull_info:
        page.get_by_test_id("gacha-pull-1").click()
    pulled = pull_info.value.json()["round"]
    summary = page.get_by_test_id("gacha-summary")

    # then the summary tells the gold back and the net, and the pull is revealed with its rarity
    expect(page.locator("[data-gacha-result]")).to_have_attribute(
        "data-round-id", str(pulled["id"])
    )
    net = pulled["payout"] - pulled["bet"]
    sign = "+" if net >= 0 else "-"
    expect(summary).to_have_text(
        f"1 pull for {pulled['bet']:,} gold: {pulled['payout']:,} gold back,"
        f" net {sign}{abs(net):,}."
    )
    rarity = pulled["outcome"]["pulls"][0]["rarity"]
    expect(page.locator(f".pull.revealed.rarity-{rarity}")).to_have_count(1)
    assert page_log.page_errors() == []


def test_a_nickname_change_names_the_rule_it_broke_next_to_the_field(
    open_context: Callable[..., BrowserContext],
) -> None:
    # given a player on their profile, and another player's nickname
    player = funded_player(50)
    other = funded_player(50)
    page = open_context(**DESKTOP).new_page()
    sign_in(page, player.site_id, PASSWORD)
    page.goto("/profile/")
    expect(page.locator("#hint_nickname")).to_have_text(
        "2–20 letters, digits or underscores; other players see it."
    )
    field_error = page.get_by_test_id("nickname-error")

    # when they try a one-letter nickname, then a taken one
    page.locator("[name=nickname]").fill("x")
    with page.expect_response(lambda response: response.url.endswith("/api/users/me")) as bad:
        page.get_by_role("button", name="Change the nickname").click()

    # then each refusal says which rule, next to the field, and nothing changes
    assert bad.value.status == 400
    expect(field_error).to_have_text("2–20 letters, digits or underscores.")
    expect(page.locator("[name=nickname]")).to_have_attribute("aria-invalid", "true")
    page.locator("[name=nickname]").fill(other.nickname)
    with page.expect_response(lambda response: response.url.endswith("/api/users/me")) as taken:
        page.get_by_role("button", name="Change the nickname").click()
    assert taken.value.status == 409
    expect(field_error).to_have_text("This nickname is already taken.")
    player.refresh_from_db()
    assert player.nickname != other.nickname


def test_a_rounds_mission_and_achievement_progress_reach_other_open_pages_over_the_socket(
    open_context: Callable[..., BrowserContext],
) -> None:
    # Given: a player, a mission of five rounds and an achievement for the first round, with the
    # events page and the achievements page open in two tabs.
    player = funded_player(10_000)
    MissionFactory(code="browser-five", title="Browser five rounds", target=5)
    AchievementFactory(code="browser_first", name="Browser first", threshold=1)
    context = open_context(**DESKTOP)
    events_page = context.new_page()
    sign_in(events_page, player.site_id, PASSWORD)
    events_page.goto("/events/")
    wait_socket_open(events_page)
    mission = events_page.locator("[data-testid=missions] li", has_text="Browser five rounds")
    expect(mission).to_contain_text("0 / 5")
    mark_no_reload(events_page)
    achievements_page = context.new_page()
    achievements_page.goto("/achievements/")
    wait_socket_open(achievements_page)
    achievement = achievements_page.locator('[data-code="browser_first"]')
    expect(achievement).to_have_attribute("data-unlocked", "false")
    mark_no_reload(achievements_page)

    # When: a round is played in a third tab.
    slot_page = context.new_page()
    slot_page.goto("/play/slot/")
    wait_socket_open(slot_page)
    slot_page.locator("[name=bet]").fill(str(game_config_current("slot").min_bet))
    with api_post_response(slot_page, "/api/games/slot/spin") as spin_info:
        slot_page.get_by_test_id("slot-spin").click()
    assert spin_info.value.status == 200

    # Then: the projections' one progress_update reaches the other tabs, which show the mission's
    # progress and the unlocked achievement without a reload.
    expect(mission).to_contain_text("1 / 5")
    expect(achievement).to_have_attribute("data-unlocked", "true")
    assert_not_reloaded(events_page)
    assert_not_reloaded(achievements_page)


# ---------------------------------------------------------------- purchases, items, verification

JOURNEYS_DIR = ARTIFACTS_DIR / "journeys"  # screens of these flows, for review


def test_a_purchase_is_confirmed_first_and_ends_on_its_receipt(
    open_context: Callable[..., BrowserContext], page_log: PageLog
) -> None:
    player = funded_player(100)
    pack = GoldPackFactory(
        name="Pocket of gold", price_cents=1200, currency="KRW", gold_amount=5000
    )
    package = LimitedPackageFactory(name="Spring chest")
    page = open_context(**DESKTOP).new_page()
    sign_in(page, player.site_id, PASSWORD)
    page.goto("/shop/")
    wait_socket_open(page)
    card = page.locator(f'[data-testid=product-card][data-sku="{pack.code}"]')
    dialog = page.get_by_test_id("purchase-confirm")

    # Buy asks first: the product, its price in its currency and what it gives. Cancel buys nothing.
    card.get_by_test_id("buy-button").click()
    expect(dialog).to_be_visible()
    expect(dialog.locator("[data-confirm-name]")).to_have_text("Pocket of gold")
    expect(dialog.locator("[data-confirm-price]")).to_have_text("1,200 KRW")
    expect(dialog.locator("[data-confirm-gets]")).to_have_text("5,000 gold")
    expect(dialog.locator("[data-confirm-real-money]")).to_be_visible()
    expect(dialog.locator("[data-confirm-gold]")).to_be_hidden()
    screenshot(page, JOURNEYS_DIR, "purchase-confirm-desktop")
    page.get_by_test_id("cancel-purchase").click()
    expect(dialog).to_be_hidden()
    assert Purchase.objects.filter(user_id=player.pk).count() == 0

    # A limited package: its items by name, and the promo code the player typed.
    chest = page.locator(f'[data-testid=limited-card][data-sku="{package.code}"]')
    chest.locator("input[name=promo_code]").fill("SPRING10")
    chest.get_by_test_id("buy-button").click()
    expect(dialog.locator("[data-confirm-name]")).to_have_text("Spring chest")
    expect(dialog.locator("[data-confirm-price]")).to_have_text("9,900 KRW")
    expect(dialog.locator("[data-confirm-gets]")).to_have_text("20,000 gold, Gold avatar frame ×1")
    expect(dialog.locator("[data-confirm-promo]")).to_contain_text("SPRING10")
    page.keyboard.press("Escape")  # closing the dialog any way buys nothing
    expect(dialog).to_be_hidden()
    assert Purchase.objects.filter(user_id=player.pk).count() == 0

    # Confirmed, the purchase is made, its receipt is linked, and "Your purchases" names it.
    with api_post_response(page, "/api/shop/buy") as buy_info:
        card.get_by_test_id("buy-button").click()
        page.get_by_test_id("confirm-purchase").click()
    assert buy_info.value.status == 200
    purchase = Purchase.objects.get(user_id=player.pk)
    expect(page.get_by_test_id("receipt-link").locator("a")).to_have_attribute(
        "href", f"/shop/receipts/{purchase.receipt}/"
    )
    row = page.locator(f'[data-purchases] [data-receipt="{purchase.receipt}"]')
    expect(row).to_contain_text("Pocket of gold")
    expect(page.get_by_test_id("purchases")).not_to_contain_text(pack.code)

    # The receipt: its number, status, what it gives and its signature.
    row.get_by_test_id("receipt-open").click()
    page.wait_for_url(f"**/shop/receipts/{purchase.receipt}/")
    receipt = page.get_by_test_id("receipt")
    expect(receipt).to_have_attribute("data-status", purchase.status)
    expect(page.get_by_test_id("receipt-id")).to_have_text(purchase.receipt)
    expect(page.get_by_test_id("receipt-signature")).to_have_text(purchase.signature)
    expect(page.get_by_test_id("receipt-status")).to_contain_text("Pending")
    expect(page.get_by_test_id("receipt-price")).to_have_text("1,200 KRW")
    expect(page.get_by_test_id("receipt-gets")).to_have_text("5,000 gold")
    assert page_log.page_errors() == []


def test_a_player_equips_a_frame_and_it_shows_on_the_profile_and_the_leaderboard(
    open_context: Callable[..., BrowserContext], page_log: PageLog
) -> None:
    player = funded_player(1000)
    with transaction.atomic():
        account_services.inventory_add(player.pk, "frame_silver")
        account_services.inventory_add(player.pk, "frame_gold")
    game_services.slot_spin(player, 10)  # on today's leaderboard
    projections_run()
    page = open_context(**DESKTOP).new_page()
    sign_in(page, player.site_id, PASSWORD)

    page.goto("/inventory/")
    silver = page.locator('[data-item="frame_silver"]')
    expect(silver).to_contain_text("Silver avatar frame")
    with api_post_response(page, "/api/users/me/items/equip") as equipped:
        silver.get_by_role("button", name="Equip").click()
    assert equipped.value.status == 200
    expect(silver).to_have_attribute("data-equipped", "true")
    expect(page.locator('[data-slot="frame"]')).to_have_text("Silver avatar frame")
    assert list(
        EquippedItem.objects.filter(user_id=player.pk).values_list("item_code", flat=True)
    ) == ["frame_silver"]

    # The gold frame takes the slot: one frame at a time.
    gold = page.locator('[data-item="frame_gold"]')
    gold.get_by_role("button", name="Equip").click()
    expect(gold).to_have_attribute("data-equipped", "true")
    expect(silver).to_have_attribute("data-equipped", "false")
    expect(page.locator('[data-slot="frame"]')).to_have_text("Gold avatar frame")

    page.goto("/profile/")
    expect(page.get_by_test_id("profile-equipped")).to_contain_text("Gold avatar frame")
    page.goto("/history/")
    mine = page.locator(f'[data-testid=leaderboard] tr[data-user-id="{player.pk}"]')
    expect(mine.locator('[data-item="frame_gold"]')).to_have_text("Gold avatar frame")
    assert page_log.page_errors() == []


def test_the_verify_page_recomputes_played_rounds_in_the_browser_and_catches_a_tampered_seed(
    open_context: Callable[..., BrowserContext], page_log: PageLog
) -> None:
    player = funded_player(10_000)
    rounds = [
        game_services.slot_spin(player, 10),
        game_services.rps_play(player, 10, "paper"),
        game_services.gacha_pull(player, 10),
    ]
    game_services.fair_seed_rotate(player.pk)  # reveals the seed these rounds used
    page = open_context(**DESKTOP).new_page()

    # The page's own HMAC-SHA256 stream gives the published known answer (no login needed).
    page.goto("/verify/")
    known = page.evaluate(
        """async () => {
          const fair = await import('/static/js/fair.js');
          const seed = Uint8Array.from({length: 32}, (_, i) => i);
          const stream = await fair.FairStream.open(seed, 'casino-club', 0);
          return [await fair.sha256Hex(seed), await stream.uint32()];
        }"""
    )
    assert known == ["630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd", 3236343320]

    # Before login, any round's inputs in the address are computed with the live configuration.
    spin = rounds[0]
    spin.fair_seed.refresh_from_db()
    inputs = urlencode(
        {
            "game": "slot",
            "server_seed": bytes(spin.fair_seed.server_seed).hex(),
            "server_seed_hash": spin.fair_seed.server_seed_hash,
            "client_seed": spin.fair_seed.client_seed,
            "nonce": spin.nonce,
        }
    )
    page.goto(f"/verify/?{inputs}")
    computed = page.get_by_test_id("verify-outcome")
    expect(computed).to_have_attribute("data-verdict", "computed")
    expect(computed).to_contain_text(
        " · ".join(symbol.capitalize() for symbol in spin.outcome["reels"])
    )

    # From History, a round lands on the verify page already verified, for every game.
    sign_in(page, player.site_id, PASSWORD)
    page.goto("/history/")
    # each row tells what the round did to the player's gold (net), next to the gross payout
    for round_ in rounds:
        row = page.locator(f'[data-testid=history] tr[data-round-id="{round_.pk}"]')
        expect(row.locator("td[data-net]")).to_have_attribute(
            "data-net", str(round_.payout - round_.bet)
        )
    page.locator(f'[data-testid=history] a[href="/verify/?round={rounds[0].pk}"]').click()
    page.wait_for_url(f"**/verify/?round={rounds[0].pk}")
    outcome = page.get_by_test_id("verify-outcome")
    expect(outcome).to_have_attribute("data-verdict", "match")
    expect(outcome).to_contain_text(
        " · ".join(symbol.capitalize() for symbol in rounds[0].outcome["reels"])
    )
    screenshot(page, JOURNEYS_DIR, "verify-match-desktop")
    for round_ in rounds[1:]:
        page.goto(f"/verify/?round={round_.pk}")
        expect(page.get_by_test_id("verify-outcome")).to_have_attribute("data-verdict", "match")

    # The browser computes on its own: a tampered seed does not match.
    page.goto(f"/verify/?round={rounds[0].pk}")
    expect(outcome).to_have_attribute("data-verdict", "match")
    seed = page.locator("[name=server_seed]")
    original = seed.input_value()
    seed.fill(("0" if original[0] != "0" else "1") + original[1:])
    page.get_by_test_id("verify-run").click()
    expect(outcome).to_have_attribute("data-verdict", "mismatch")
    expect(outcome).to_contain_text("Does not match")
    # Even without the hash to compare, the tampered seed gives another result than the recorded.
    page.locator("[name=server_seed_hash]").fill("")
    page.get_by_test_id("verify-run").click()
    expect(outcome).to_have_attribute("data-verdict", "mismatch")
    expect(outcome).to_contain_text("a different result from the one recorded")
    screenshot(page, JOURNEYS_DIR, "verify-mismatch-desktop")
    assert page_log.page_errors() == []


def test_the_bell_counts_unread_notifications_live_and_a_claimed_campaign_reward_pays_once(
    open_context: Callable[..., BrowserContext],
) -> None:
    player = funded_player(50)
    Notification.objects.create(user=player, category="events", title="Welcome")
    page = open_context(**DESKTOP).new_page()
    sign_in(page, player.site_id, PASSWORD)
    wait_socket_open(page)
    bell = page.get_by_test_id("inbox-bell")
    expect(page.get_by_test_id("inbox-unread")).to_have_text("1")
    expect(bell).to_have_attribute("aria-label", "Notifications, 1 unread")

    # staff send a campaign with gold to this player: the socket raises the count live
    campaign = CampaignFactory(
        target=Target.LISTED, listed_site_ids=player.site_id, reward_gold=500, title_en="Gift"
    )
    liveops_services.campaign_send(campaign.pk, actor=staff_member("economy"))
    expect(page.get_by_test_id("inbox-unread")).to_have_text("2")
    expect(bell).to_have_attribute("aria-label", "Notifications, 2 unread")

    # the bell is a link reached from the keyboard
    bell.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    gift = page.get_by_test_id("inbox-item").filter(has_text="Gift")
    with page.expect_response(lambda response: response.url.endswith("/claim")) as claimed:
        gift.get_by_test_id("inbox-claim").click()
    assert claimed.value.status == 200
    assert_idempotency_key(claimed.value)
    expect_gold(page, 550)
    expect(page.get_by_test_id("inbox-unread")).to_have_text("1")
    expect(gift.get_by_test_id("inbox-claim")).to_be_disabled()

    page.get_by_test_id("inbox-read-all").click()
    expect(page.get_by_test_id("inbox-unread")).to_be_hidden()
    expect(bell).to_have_attribute("aria-label", "Notifications")
    assert ledger_after(player.pk, 0)[-1] == ("campaign_reward", 500)
    assert LedgerEntry.objects.filter(wallet_id=player.pk, reason="campaign_reward").count() == 1


def test_a_forgotten_password_is_reset_through_the_mailed_link_which_works_once(
    open_context: Callable[..., BrowserContext], mailbox: Any
) -> None:
    player = funded_player(50, email="reset.me@example.com", email_verified_at=timezone.now())
    new_password = "Reset-in-the-browser-1!"
    already = len(mailbox.messages)
    page = open_context(**DESKTOP).new_page()

    page.goto("/login/")
    page.get_by_test_id("forgot-password").click()
    page.locator("[name=email]").fill("reset.me@example.com")
    with page.expect_navigation():
        page.get_by_test_id("reset-submit").click()
    expect(page.get_by_test_id("reset-sent")).to_be_visible()
    message = mailbox.wait_for(already + 1, timeout=20)[already]
    assert message.recipients == ["reset.me@example.com"]
    link = re.search(r"http://127\.0\.0\.1:\d+/password-reset/\S+/\S+/", message.body_text)
    assert link is not None, message.body_text

    page.goto(link.group(0))
    page.locator("[name=new_password1]").fill(new_password)
    page.locator("[name=new_password2]").fill(new_password)
    with page.expect_navigation():
        page.get_by_test_id("reset-confirm-submit").click()
    expect(page.get_by_test_id("reset-complete")).to_be_visible()
    sign_in(page, player.site_id, new_password)
    page.goto(link.group(0))

    expect(page.get_by_test_id("reset-link-invalid")).to_be_visible()
    player.refresh_from_db()
    assert player.check_password(new_password)


def test_a_crash_bet_rides_the_shared_round_by_keyboard_and_its_bust_verifies_in_the_browser(
    open_context: Callable[..., BrowserContext], page_log: PageLog
) -> None:
    # given the shared round taking bets (its crash point at least 10x: it runs 38 s or more)
    player = funded_player(5_000)
    watcher = funded_player(5_000)
    chain_where_first_round(lambda crash: crash >= 1000)
    game_services.crash_loop_step()
    CrashRound.objects.update(betting_ends_at=timezone.now() + timedelta(minutes=5))
    page = open_context(**DESKTOP, reduced_motion="reduce").new_page()
    sockets: list[WebSocketRoute] = []  # the page's sockets, passed through to the server

    def pass_through(route: WebSocketRoute) -> None:
        route.connect_to_server()
        sockets.append(route)

    page.route_web_socket("**/api/realtime/sync*", pass_through)
    sign_in(page, player.site_id, PASSWORD)
    page.goto("/play/crash/")
    wait_socket_open(page)
    display = page.get_by_test_id("crash-multiplier")
    expect(display).to_have_attribute("data-state", "betting")

    # when the player bets by keyboard with an auto cash-out, and another player bets too
    page.locator("[name=bet]").fill("100")
    page.locator("[name=auto_cashout]").fill("900")
    with api_post_response(page, "/api/games/crash/bet"):
        page.locator("[name=auto_cashout]").press("Enter")
    game_services.crash_bet(watcher, 50, None)

    # then both show among the round's players (the other one over the socket)
    players = page.get_by_test_id("crash-players")
    expect(players.locator(f'tr[data-nickname="{player.nickname}"]')).to_contain_text("100")
    expect(players.locator(f'tr[data-nickname="{watcher.nickname}"]')).to_contain_text("50")

    # and bets that reached the socket process together come as one group_batch frame: the
    # page takes each of its broadcasts
    round_id = CrashRound.objects.get().pk
    sockets[-1].send(
        json.dumps(
            {
                "type": "group_batch",
                "group": "crash",
                "data": {
                    "messages": [
                        {
                            "type": "crash_bet",
                            "group": "crash",
                            "data": {
                                "round_id": round_id,
                                "nickname": nickname,
                                "amount": amount,
                                "auto_cashout": None,
                            },
                            "timestamp": timezone.now().isoformat(),
                        }
                        for nickname, amount in (("BatchedOne", 7), ("BatchedTwo", 8))
                    ]
                },
                "timestamp": timezone.now().isoformat(),
            }
        )
    )
    expect(players.locator('tr[data-nickname="BatchedOne"]')).to_contain_text("7")
    expect(players.locator('tr[data-nickname="BatchedTwo"]')).to_contain_text("8")

    # when the round starts, the curve rises and the player cashes out by keyboard
    CrashRound.objects.update(betting_ends_at=timezone.now())
    game_services.crash_loop_step()
    expect(display).to_have_attribute("data-state", "running")
    expect(page.get_by_test_id("crash-cashout")).to_be_enabled()
    page.get_by_test_id("crash-cashout").focus()
    with api_post_response(page, "/api/games/crash/cashout") as cashed_info:
        page.keyboard.press("Enter")
    cashed = cashed_info.value.json()["round"]
    expect(page.get_by_test_id("crash-status")).to_contain_text("Cashed out at")
    mine = players.locator(f'tr[data-nickname="{player.nickname}"]')
    expect(mine).to_contain_text(f"{cashed['outcome']['cashout_x100'] / 100:.2f}×")

    # when the loop busts it
    round_ = CrashRound.objects.get()
    game_services.crash_loop_step(now=round_.bust_at)

    # then the page shows the bust, and its link verifies the round in the browser
    expect(display).to_have_attribute("data-state", "crashed")
    expect(display).to_have_text(f"{round_.crash_x100 / 100:.2f}×")
    bust_link = page.locator(f'[data-testid=crash-busts] a[href="/play/crash/rounds/{round_.pk}/"]')
    expect(bust_link).to_have_text(f"{round_.crash_x100 / 100:.2f}×")
    bust_link.click()
    page.wait_for_url(f"**/play/crash/rounds/{round_.pk}/")
    expect(page.get_by_test_id("crash-round")).to_have_attribute("data-verified", "true")
    assert balance_of(player.pk) == 5_000 - 100 + cashed["payout"]
    assert page_log.page_errors() == []
