"""Shop races forced on PostgreSQL: real threads, separate connections, released together."""

import hashlib
import hmac
import json
import time

import pytest
from rest_framework.test import APIClient

from accounts.models import AuditLogEntry, LedgerEntry
from accounts.selectors import ledger_violations
from accounts.tests.test_races import run_together
from accounts.tokens import token_pair_for_user
from games.tests.factories import funded_player
from shop import services
from shop.models import LimitedPackage, Purchase
from shop.tests.factories import GoldPackFactory, LimitedPackageFactory

pytestmark = pytest.mark.django_db(transaction=True)


def buy_limited(token: str, key: str, code: str = "drop") -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.post(
        "/api/shop/buy-limited", {"package_code": code}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    return response.status_code


def test_100_buyers_for_10_units_never_oversell():
    LimitedPackageFactory(code="drop", total_stock=10, per_user_limit=1)
    tokens = [token_pair_for_user(funded_player(0))["access"] for _ in range(100)]

    statuses = run_together(100, lambda i: buy_limited(tokens[i], f"drop-buyer-{i:04d}"))

    assert statuses.count(200) == 10
    assert statuses.count(409) == 90
    assert LimitedPackage.objects.get(code="drop").remaining_stock == 0
    assert Purchase.objects.filter(status="success").count() == 10
    assert ledger_violations() == []


def test_per_user_limit_holds_under_concurrency():
    LimitedPackageFactory(code="drop", total_stock=50, per_user_limit=2)
    token = token_pair_for_user(funded_player(0))["access"]

    statuses = run_together(10, lambda i: buy_limited(token, f"greedy-{i:04d}"))

    assert statuses.count(200) == 2
    assert LimitedPackage.objects.get(code="drop").remaining_stock == 48


def test_one_webhook_event_delivered_20_times_concurrently_credits_once(settings):
    settings.PAYMENT_SIMULATOR = {"charge": "pending", "pending_outcome": "pending"}
    player = funded_player(0)
    GoldPackFactory(code="pack", gold_amount=5000)
    purchase = services.shop_buy(player, "pack")
    body = json.dumps(
        {"event_id": "evt_many", "type": "payment.succeeded", "receipt": purchase.receipt}
    ).encode()

    def deliver(index: int) -> str:
        timestamp, nonce = str(int(time.time())), f"nonce-{index:04d}"
        signature = hmac.new(
            settings.PAYMENT_WEBHOOK_SECRET.encode(),
            f"{timestamp}.{nonce}.".encode() + body,
            hashlib.sha256,
        ).hexdigest()
        response = APIClient().post(
            "/api/shop/webhook/payment", body, content_type="application/json",
            HTTP_X_WEBHOOK_TIMESTAMP=timestamp, HTTP_X_WEBHOOK_NONCE=nonce, HTTP_X_WEBHOOK_SIGNATURE=signature,
        )  # fmt: skip
        return response.json()["status"]

    results = run_together(20, deliver)

    assert sorted(results) == ["duplicate"] * 19 + ["processed"]
    assert Purchase.objects.get(pk=purchase.pk).status == "success"
    credits = LedgerEntry.objects.filter(wallet_id=player.pk, reason="purchase_credit")
    assert list(credits.values_list("delta", flat=True)) == [5000]


def test_settlement_run_twice_concurrently_credits_once(settings):
    settings.PAYMENT_SIMULATOR = {"charge": "pending", "pending_outcome": "pending"}
    player = funded_player(0)
    GoldPackFactory(code="pack", gold_amount=5000)
    purchases = [services.shop_buy(player, "pack") for _ in range(5)]
    settings.PAYMENT_SIMULATOR = {"charge": "pending", "pending_outcome": "succeed"}

    run_together(2, lambda _: services.purchases_settle_pending())

    assert Purchase.objects.filter(pk__in=[p.pk for p in purchases], status="success").count() == 5
    assert LedgerEntry.objects.filter(wallet_id=player.pk, reason="purchase_credit").count() == 5
    assert ledger_violations() == []


def test_admin_stock_edits_while_50_buyers_take_10_units_never_sell_more_than_10(admin_user):
    from django.contrib.auth.models import Permission
    from django.test import Client

    from accounts.models import InventoryItem
    from shop.tests.test_stock import change_form_data

    package = LimitedPackageFactory(code="drop", total_stock=10, per_user_limit=1)
    shown = change_form_data(package)  # the change page, opened before the sale starts
    stock_staff = funded_player(0, is_staff=True)
    stock_staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_limitedpackage", "change_stock"])
    )
    tokens = [token_pair_for_user(funded_player(0))["access"] for _ in range(50)]

    def edit_form() -> int:
        client = Client(raise_request_exception=False)
        client.force_login(admin_user)
        deadline = time.monotonic() + 10
        while not Purchase.objects.filter(status="success").exists():  # after the first sale
            if time.monotonic() > deadline:
                break
            time.sleep(0.005)
        url = f"/admin/shop/limitedpackage/{package.pk}/change/"
        return client.post(url, {**shown, "name": "Renamed during the sale"}).status_code

    def remove_units() -> int:
        client = Client(raise_request_exception=False)
        client.force_login(stock_staff)
        body = {"action": "adjust_stock", "_selected_action": [package.pk], "units": "-2",
                "reason": "held back for a giveaway"}  # fmt: skip
        return client.post("/admin/shop/limitedpackage/", body).status_code

    def act(index: int) -> int:
        if index == 50:
            return edit_form()
        if index == 51:
            return remove_units()
        return buy_limited(tokens[index], f"race-buyer-{index:04d}")

    statuses = run_together(52, act)

    package.refresh_from_db()
    sold = Purchase.objects.filter(package=package, status="success").count()
    granted = sum(
        InventoryItem.objects.filter(item_code="frame_gold").values_list("quantity", flat=True)
    )
    removed = AuditLogEntry.objects.filter(action="limited_package_stock").count() * 2
    assert statuses[50:] == [302, 302]
    assert package.name == "Renamed during the sale"
    assert statuses[:50].count(200) == sold
    assert granted == sold
    assert sold <= 10
    assert (package.total_stock, package.remaining_stock) == (10 - removed, 10 - removed - sold)
    assert Purchase.objects.filter(package=package).exclude(status="success").count() == 0
    assert ledger_violations() == []


def test_staff_refunds_and_chargebacks_of_one_purchase_at_once_reverse_it_once(admin_user):
    from accounts.models import InventoryItem, User
    from shop.tests.factories import LimitedPackageFactory as Package

    player = funded_player(0)
    Package(code="drop", price_cents=50_000, gold_amount=20_000)
    purchase = services.shop_buy_limited(player, "drop")
    assert User.objects.get(pk=player.pk).vip_points == 500

    def reverse(index: int) -> str:
        if index % 2:
            return services.purchase_reverse(
                purchase.pk, kind="dispute", source="provider", actor=None, reason="chargeback"
            ).status
        return services.purchase_refund(purchase.pk, actor=admin_user, reason="refund").status

    statuses = run_together(10, reverse)

    user = User.objects.get(pk=player.pk)
    assert statuses == ["refunded"] * 10
    assert (user.vip_points, user.rank) == (0, "STANDARD")
    assert list(
        LedgerEntry.objects.filter(wallet_id=player.pk, reason="refund_clawback").values_list(
            "delta", flat=True
        )
    ) == [-20_000]
    assert InventoryItem.objects.get(user_id=player.pk, item_code="frame_gold").quantity == 0
    audits = AuditLogEntry.objects.filter(target=purchase.receipt)
    assert audits.count() == 1
    assert audits.get().action in ("purchase_refund", "purchase_dispute")
    assert ledger_violations() == []


def test_the_daily_purchase_limit_holds_under_20_concurrent_buys():
    from django.db import connection

    from accounts.services.responsible import purchase_limit_set

    player = funded_player(0)
    purchase_limit_set(player.pk, 1200)
    GoldPackFactory(code="pouch", price_cents=1200, currency="KRW", gold_amount=5000)
    token = token_pair_for_user(player)["access"]

    def buy(index: int) -> tuple[int, str]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        response = client.post(
            "/api/shop/buy", {"product_code": "pouch"}, format="json",
            HTTP_IDEMPOTENCY_KEY=f"limit-race-{index:04d}",
        )  # fmt: skip
        body = response.json()
        return response.status_code, body.get("error", {}).get(
            "code", body.get("purchase", {}).get("status")
        )

    results = run_together(20, buy)

    assert sorted(results) == [(200, "success")] + [(403, "purchase_limit_reached")] * 19
    assert Purchase.objects.filter(user=player).count() == 1
    credits = LedgerEntry.objects.filter(wallet_id=player.pk, reason="purchase_credit")
    assert list(credits.values_list("delta", flat=True)) == [5000]
    assert connection.vendor == "postgresql"
