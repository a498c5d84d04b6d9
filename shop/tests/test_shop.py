"""The shop through its HTTP API, on PostgreSQL: prices from the catalog, gold exactly once."""

import hashlib
import hmac
import itertools
import json
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from accounts.models import AuditLogEntry, InventoryItem, LedgerEntry, Wallet
from accounts.selectors import ledger_violations
from accounts.tokens import token_pair_for_user
from casinoclub.realtime.models import RealtimeMessage
from games.tests.factories import funded_player
from shop import services
from shop.models import (
    LimitedPackage,
    Product,
    PromoCode,
    PromoRedemption,
    Purchase,
    WebhookEvent,
)
from shop.tests.factories import (
    GoldPackFactory,
    ItemFactory,
    LimitedPackageFactory,
    PromoCodeFactory,
)

keys = (f"shop-{n:08d}" for n in itertools.count())
nonces = (f"nonce-{n:08d}" for n in itertools.count())


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for_user(user)['access']}")
    return client


def post(client, path, body, key=None):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key or next(keys))


def balance(user) -> int:
    return Wallet.objects.get(pk=user.pk).balance


def gold_credits(user) -> list[int]:
    return list(
        LedgerEntry.objects.filter(wallet_id=user.pk, reason="purchase_credit").values_list(
            "delta", flat=True
        )
    )


def signed_webhook(payload: dict, *, secret=None, timestamp=None, nonce=None):
    from django.conf import settings

    body = json.dumps(payload).encode()
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    nonce = nonce or next(nonces)
    key = (secret or settings.PAYMENT_WEBHOOK_SECRET).encode()
    signature = hmac.new(key, f"{timestamp}.{nonce}.".encode() + body, hashlib.sha256).hexdigest()
    headers = {
        "HTTP_X_WEBHOOK_TIMESTAMP": timestamp,
        "HTTP_X_WEBHOOK_NONCE": nonce,
        "HTTP_X_WEBHOOK_SIGNATURE": signature,
    }
    return body, headers


def deliver(payload, **kwargs):
    body, headers = signed_webhook(payload, **kwargs)
    return APIClient().post(
        "/api/shop/webhook/payment", body, content_type="application/json", **headers
    )


@pytest.fixture
def player(db):
    return funded_player(1000)


@pytest.fixture
def client(player):
    return client_for(player)


@pytest.fixture
def pending_gateway(settings):
    settings.PAYMENT_SIMULATOR = {"charge": "pending", "pending_outcome": "pending"}
    return settings


@pytest.mark.django_db
def test_catalog_shows_price_after_discount_and_rank_gate(player, client):
    Product.objects.all().delete()  # only this test's products, not the default catalog
    GoldPackFactory(
        code="starter",
        price_cents=10000,
        discount_percent=20,
        discount_ends_at=timezone.now() + timedelta(days=1),
    )
    GoldPackFactory(
        code="expired-sale",
        price_cents=10000,
        discount_percent=50,
        discount_ends_at=timezone.now() - timedelta(seconds=1),
    )
    ItemFactory(code="vip-hat", min_rank="VIP")
    GoldPackFactory(code="hidden", is_active=False)

    products = {p["code"]: p for p in client.get("/api/shop/catalog").json()["products"]}

    assert set(products) == {"starter", "expired-sale", "vip-hat"}
    assert (products["starter"]["price"], products["starter"]["discount_percent"]) == (8000, 20)
    assert (products["expired-sale"]["price"], products["expired-sale"]["discount_percent"]) == (
        10000,
        0,
    )
    assert products["vip-hat"]["can_buy"] is False
    assert products["starter"]["can_buy"] is True


@pytest.mark.django_db
def test_buying_a_gold_pack_credits_the_products_gold_once(player, client):
    GoldPackFactory(code="pack", gold_amount=5000, price_cents=4900)

    response = post(client, "/api/shop/buy", {"product_code": "pack"})

    body = response.json()
    assert response.status_code == 200
    assert body["purchase"]["status"] == "success"
    assert body["purchase"]["gold"] == 5000
    assert body["balance"] == 6000 == balance(player)
    assert gold_credits(player) == [5000]
    purchase = Purchase.objects.get(receipt=body["purchase"]["receipt"])
    assert purchase.signature == services.receipt_signature(purchase)
    assert [
        m
        for m in RealtimeMessage.objects.filter(user=player, type="purchase_update").values_list(
            "data", flat=True
        )
    ][-1]["status"] == "success"


@pytest.mark.django_db
def test_buying_a_gold_priced_item_debits_and_grants_in_one_step(player, client):
    ItemFactory(code="hat", item_code="hat_red", price_gold=300, discount_percent=10)

    response = post(client, "/api/shop/buy", {"product_code": "hat"})

    assert response.json()["purchase"]["price"] == 270
    assert balance(player) == 730
    assert InventoryItem.objects.get(user=player, item_code="hat_red").quantity == 1


@pytest.mark.parametrize(
    ("setup", "body", "status", "code"),
    [
        (lambda: None, {"product_code": "nope"}, 404, "not_found"),
        (
            lambda: ItemFactory(code="vip", min_rank="VIP"),
            {"product_code": "vip"},
            403,
            "rank_required",
        ),
        (
            lambda: ItemFactory(code="dear", price_gold=5000),
            {"product_code": "dear"},
            409,
            "insufficient_funds",
        ),
        (
            lambda: GoldPackFactory(code="p"),
            {"product_code": "p", "price": 1},
            400,
            "validation_error",
        ),
        (
            lambda: GoldPackFactory(code="p"),
            {"product_code": "p", "gold": 10**9},
            400,
            "validation_error",
        ),
        (lambda: None, {}, 400, "validation_error"),
    ],
)
@pytest.mark.django_db
def test_bad_purchases_are_4xx_and_change_nothing(player, client, setup, body, status, code):
    setup()

    response = post(client, "/api/shop/buy", body)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert balance(player) == 1000
    assert not Purchase.objects.exists()
    assert not InventoryItem.objects.exists()


@pytest.mark.django_db
def test_declined_payment_fails_the_purchase_and_credits_nothing(player, client, settings):
    settings.PAYMENT_SIMULATOR = {"charge": "decline", "pending_outcome": "pending"}
    GoldPackFactory(code="pack")

    body = post(client, "/api/shop/buy", {"product_code": "pack"}).json()

    assert (body["purchase"]["status"], body["purchase"]["failure_reason"]) == (
        "failed",
        "card_declined",
    )
    assert balance(player) == 1000


@pytest.mark.django_db
def test_pending_purchase_settles_through_the_settle_route(player, client, pending_gateway):
    GoldPackFactory(code="pack", gold_amount=5000)
    receipt = post(client, "/api/shop/buy", {"product_code": "pack"}).json()["purchase"]["receipt"]

    still = client.post(f"/api/shop/transactions/{receipt}/settle").json()
    pending_gateway.PAYMENT_SIMULATOR = {"charge": "pending", "pending_outcome": "succeed"}
    settled = client.post(f"/api/shop/transactions/{receipt}/settle").json()
    again = client.post(f"/api/shop/transactions/{receipt}/settle").json()

    assert still["purchase"]["status"] == "pending"
    assert settled["purchase"]["status"] == "success"
    assert again["purchase"]["status"] == "success"
    assert gold_credits(player) == [5000]
    other = client_for(funded_player(0))
    assert other.post(f"/api/shop/transactions/{receipt}/settle").status_code == 404


@pytest.mark.django_db
def test_transactions_list_only_the_callers_purchases(player, client):
    GoldPackFactory(code="pack")
    post(client, "/api/shop/buy", {"product_code": "pack"})
    post(client_for(funded_player(0)), "/api/shop/buy", {"product_code": "pack"})

    body = client.get("/api/shop/transactions").json()

    assert body["count"] == 1
    assert body["results"][0]["product"] == "pack"
    assert len(body["results"][0]["signature"]) == 64


@pytest.mark.django_db
def test_webhook_settles_a_pending_purchase_once(player, client, pending_gateway):
    GoldPackFactory(code="pack", gold_amount=5000)
    receipt = post(client, "/api/shop/buy", {"product_code": "pack"}).json()["purchase"]["receipt"]
    event = {"event_id": "evt_1", "type": "payment.succeeded", "receipt": receipt}

    first = deliver(event)
    duplicate = deliver(event)

    assert first.json() == {"status": "processed"}
    assert duplicate.json() == {"status": "duplicate"}
    assert Purchase.objects.get(receipt=receipt).status == "success"
    assert gold_credits(player) == [5000]


@pytest.mark.parametrize(
    "tamper",
    [
        {"secret": "wrong-secret"},
        {"timestamp": str(int(time.time()) - 301)},
        {"timestamp": str(int(time.time()) + 900)},
        {"timestamp": "yesterday"},
    ],
)
@pytest.mark.django_db
def test_webhook_rejects_bad_signatures_and_stale_timestamps(
    player, client, pending_gateway, tamper
):
    GoldPackFactory(code="pack")
    receipt = post(client, "/api/shop/buy", {"product_code": "pack"}).json()["purchase"]["receipt"]

    response = deliver(
        {"event_id": "evt_x", "type": "payment.succeeded", "receipt": receipt}, **tamper
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] in ("invalid_signature", "stale_timestamp")
    assert Purchase.objects.get(receipt=receipt).status == "pending"
    assert gold_credits(player) == []


@pytest.mark.django_db
def test_webhook_rejects_a_replayed_nonce(player, client, pending_gateway):
    GoldPackFactory(code="pack")
    receipt = post(client, "/api/shop/buy", {"product_code": "pack"}).json()["purchase"]["receipt"]
    deliver(
        {"event_id": "evt_a", "type": "payment.failed", "receipt": "R-unknown"}, nonce="same-nonce"
    )

    replay = deliver(
        {"event_id": "evt_b", "type": "payment.succeeded", "receipt": receipt}, nonce="same-nonce"
    )

    assert replay.status_code == 409
    assert replay.json()["error"]["code"] == "replayed_nonce"
    assert Purchase.objects.get(receipt=receipt).status == "pending"


@pytest.mark.django_db
def test_webhook_failure_event_fails_the_purchase(player, client, pending_gateway):
    GoldPackFactory(code="pack")
    receipt = post(client, "/api/shop/buy", {"product_code": "pack"}).json()["purchase"]["receipt"]

    deliver(
        {
            "event_id": "evt_f",
            "type": "payment.failed",
            "receipt": receipt,
            "reason": "insufficient_funds",
        }
    )

    purchase = Purchase.objects.get(receipt=receipt)
    assert (purchase.status, purchase.failure_reason) == ("failed", "insufficient_funds")
    assert gold_credits(player) == []


@pytest.mark.django_db
def test_settlement_job_settles_and_expires_and_is_safe_twice(player, client, pending_gateway):
    GoldPackFactory(code="pack", gold_amount=5000)
    old = post(client, "/api/shop/buy", {"product_code": "pack"}).json()["purchase"]["receipt"]
    Purchase.objects.filter(receipt=old).update(created_at=timezone.now() - timedelta(days=2))
    fresh = post(client, "/api/shop/buy", {"product_code": "pack"}).json()["purchase"]["receipt"]

    call_command("settle_pending")
    assert Purchase.objects.get(receipt=old).status == "failed"
    assert Purchase.objects.get(receipt=fresh).status == "pending"

    pending_gateway.PAYMENT_SIMULATOR = {"charge": "pending", "pending_outcome": "succeed"}
    from shop.tasks import purchases_settle_pending_task

    purchases_settle_pending_task.delay()
    purchases_settle_pending_task.delay()

    assert Purchase.objects.get(receipt=fresh).status == "success"
    assert gold_credits(player) == [5000]


@pytest.mark.django_db
def test_staff_refund_claws_back_and_flags_a_short_balance(player, client, admin_client):
    GoldPackFactory(code="pack", gold_amount=5000)
    receipt = post(client, "/api/shop/buy", {"product_code": "pack"}).json()["purchase"]["receipt"]
    post(
        client, "/api/shop/buy", {"product_code": ItemFactory(price_gold=5500).code}
    )  # spends most of it
    assert balance(player) == 500
    purchase = Purchase.objects.get(receipt=receipt)

    response = admin_client.post(
        "/admin/shop/purchase/",
        {"action": "refund", "_selected_action": [purchase.pk], "reason": "chargeback"},
    )

    assert response.status_code == 302
    purchase.refresh_from_db()
    assert (purchase.status, purchase.needs_review) == ("refunded", True)
    assert balance(player) == 0
    assert list(
        LedgerEntry.objects.filter(wallet_id=player.pk, reason="refund_clawback").values_list(
            "delta", flat=True
        )
    ) == [-500]
    assert (
        AuditLogEntry.objects.filter(
            action="purchase_refund", target=receipt, reason="chargeback"
        ).count()
        == 1
    )
    with pytest.raises(services.exceptions.IllegalTransition):
        services.purchase_transition(purchase.pk, "success")
    assert ledger_violations() == []


@pytest.mark.django_db
def test_limited_package_buy_grants_contents_and_reports_allowance(player, client):
    package = LimitedPackageFactory(code="drop", total_stock=5, per_user_limit=2, gold_amount=20000)

    bought = post(client, "/api/shop/buy-limited", {"package_code": "drop"}).json()
    listed = client.get("/api/shop/limited-packages").json()["packages"][0]

    assert bought["purchase"]["status"] == "success"
    assert balance(player) == 21000
    assert InventoryItem.objects.get(user=player, item_code="frame_gold").quantity == 1
    assert (listed["remaining_stock"], listed["remaining_allowance"]) == (4, 1)
    package.refresh_from_db()
    assert package.remaining_stock == 4


@pytest.mark.parametrize(
    ("package_kwargs", "status", "code"),
    [
        (
            {
                "starts_at": timezone.now() + timedelta(hours=1),
                "ends_at": timezone.now() + timedelta(hours=2),
            },
            403,
            "window_closed",
        ),
        ({"min_rank": "VIP"}, 403, "rank_required"),
        ({"remaining_stock": 0}, 409, "out_of_stock"),
    ],
)
@pytest.mark.django_db
def test_limited_package_refusals(player, client, package_kwargs, status, code):
    LimitedPackageFactory(code="drop", **package_kwargs)

    response = post(client, "/api/shop/buy-limited", {"package_code": "drop"})

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert not Purchase.objects.exists()
    assert balance(player) == 1000


@pytest.mark.django_db
def test_per_user_limit_and_promo_codes(player, client):
    LimitedPackageFactory(code="drop", per_user_limit=1, price_cents=10000)
    PromoCodeFactory(code="TENOFF", kind="percent", value=10, max_uses=5)
    PromoCodeFactory(code="FLAT", kind="flat", value=2500, max_uses=1)

    first = post(client, "/api/shop/buy-limited", {"package_code": "drop", "promo_code": "TENOFF"})
    second = post(client, "/api/shop/buy-limited", {"package_code": "drop"})

    assert first.json()["purchase"]["price"] == 9000
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "per_user_limit"
    LimitedPackageFactory(code="drop2", price_cents=10000)
    again = post(client, "/api/shop/buy-limited", {"package_code": "drop2", "promo_code": "TENOFF"})
    assert again.json()["error"]["code"] == "promo_already_used"
    flat = post(client, "/api/shop/buy-limited", {"package_code": "drop2", "promo_code": "FLAT"})
    assert flat.json()["purchase"]["price"] == 7500
    other = client_for(funded_player(0))
    LimitedPackageFactory(code="drop3")
    exhausted = post(
        other, "/api/shop/buy-limited", {"package_code": "drop3", "promo_code": "FLAT"}
    )
    assert (exhausted.status_code, exhausted.json()["error"]["code"]) == (409, "promo_exhausted")
    unknown = post(other, "/api/shop/buy-limited", {"package_code": "drop3", "promo_code": "NOPE"})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "promo_invalid")
    assert PromoCode.objects.get(code="FLAT").uses == 1
    assert LimitedPackage.objects.get(code="drop3").remaining_stock == 10


@pytest.mark.django_db
def test_declined_limited_purchase_returns_stock_and_promo(player, client, settings):
    settings.PAYMENT_SIMULATOR = {"charge": "decline", "pending_outcome": "pending"}
    LimitedPackageFactory(code="drop", total_stock=3)
    PromoCodeFactory(code="ONCE", max_uses=1)

    body = post(
        client, "/api/shop/buy-limited", {"package_code": "drop", "promo_code": "ONCE"}
    ).json()

    assert body["purchase"]["status"] == "failed"
    assert LimitedPackage.objects.get(code="drop").remaining_stock == 3
    assert PromoCode.objects.get(code="ONCE").uses == 0
    assert not PromoRedemption.objects.exists()


@pytest.mark.django_db
def test_an_expired_hold_returns_its_stock(player, client, pending_gateway):
    LimitedPackageFactory(code="drop", total_stock=2)
    receipt = post(client, "/api/shop/buy-limited", {"package_code": "drop"}).json()["purchase"][
        "receipt"
    ]
    assert LimitedPackage.objects.get(code="drop").remaining_stock == 1

    services.purchases_settle_pending(now=timezone.now() + timedelta(seconds=301))

    assert Purchase.objects.get(receipt=receipt).status == "failed"
    assert Purchase.objects.get(receipt=receipt).failure_reason == "expired"
    assert LimitedPackage.objects.get(code="drop").remaining_stock == 2


@pytest.mark.django_db
def test_purchase_metrics_count_each_transition(player, client, django_capture_on_commit_callbacks):
    GoldPackFactory(code="pack")

    def count(result):
        return (
            REGISTRY.get_sample_value(
                "purchase_attempt_total", {"flow": "gold_pack", "result": result, "reason": ""}
            )
            or 0.0
        )

    before = (count("pending"), count("success"))

    with django_capture_on_commit_callbacks(execute=True):
        post(client, "/api/shop/buy", {"product_code": "pack"})

    assert (count("pending"), count("success")) == (before[0] + 1, before[1] + 1)


@pytest.mark.django_db
def test_velocity_limit_is_429(player, client, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(
        ScopedRateThrottle,
        "THROTTLE_RATES",
        {**ScopedRateThrottle.THROTTLE_RATES, "purchase": "2/min"},
    )
    GoldPackFactory(code="pack")

    statuses = [
        post(client, "/api/shop/buy", {"product_code": "pack"}).status_code for _ in range(3)
    ]

    assert statuses == [200, 200, 429]
    assert Purchase.objects.count() == 2


@pytest.mark.django_db
def test_shop_requires_login(api_client):
    assert api_client.get("/api/shop/catalog").status_code == 401
    assert api_client.post("/api/shop/buy", {"product_code": "x"}, format="json").status_code == 401


@pytest.mark.django_db
def test_admin_product_actions_change_and_audit(admin_client):
    first, second = GoldPackFactory(code="a"), GoldPackFactory(code="b")
    url = "/admin/shop/product/"
    ids = [first.pk, second.pk]

    admin_client.post(
        url,
        {
            "action": "set_discount",
            "_selected_action": ids,
            "discount_percent": 25,
            "discount_ends_at": "2099-01-01 00:00",
        },
    )
    admin_client.post(
        url, {"action": "set_rank", "_selected_action": [first.pk], "min_rank": "VIP"}
    )
    admin_client.post(url, {"action": "deactivate", "_selected_action": [second.pk]})
    refused = admin_client.post(
        url, {"action": "set_discount", "_selected_action": ids, "discount_percent": 95}
    )

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.discount_percent, first.min_rank, first.is_active) == (25, "VIP", True)
    assert (second.discount_percent, second.is_active) == (25, False)
    assert refused.status_code == 302
    actions = list(AuditLogEntry.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["product_discount", "product_discount", "product_rank", "product_deactivate"]


@pytest.mark.django_db
def test_a_scheduled_discount_prices_nothing_before_it_starts(player, client):
    Product.objects.all().delete()
    now = timezone.now()
    GoldPackFactory(code="weekend", price_cents=10000, discount_percent=30,
                    discount_starts_at=now + timedelta(hours=1))  # fmt: skip
    GoldPackFactory(code="running", price_cents=10000, discount_percent=30,
                    discount_starts_at=now - timedelta(hours=1))  # fmt: skip

    products = {p["code"]: p for p in client.get("/api/shop/catalog").json()["products"]}

    assert (products["weekend"]["price"], products["weekend"]["discount_percent"]) == (10000, 0)
    assert (products["running"]["price"], products["running"]["discount_percent"]) == (7000, 30)


@pytest.mark.django_db
def test_the_discount_action_sets_a_start_and_refuses_an_end_before_it(admin_client):
    product = GoldPackFactory(code="a")
    url = "/admin/shop/product/"
    action = {"action": "set_discount", "_selected_action": [product.pk], "discount_percent": 20}

    admin_client.post(url, {**action, "discount_starts_at": "2099-01-02 00:00",
                            "discount_ends_at": "2099-01-01 00:00"})  # fmt: skip
    refused = Product.objects.get(pk=product.pk)
    admin_client.post(url, {**action, "discount_starts_at": "2099-01-01 00:00",
                            "discount_ends_at": "2099-01-02 00:00"})  # fmt: skip
    product.refresh_from_db()

    assert (refused.discount_percent, refused.discount_starts_at) == (0, None)
    assert (product.discount_percent, timezone.localtime(product.discount_starts_at).day) == (20, 1)
    assert AuditLogEntry.objects.filter(action="product_discount").count() == 1


@pytest.mark.django_db
def test_a_fresh_install_has_a_default_catalog(client):
    codes = [product["code"] for product in client.get("/api/shop/catalog").json()["products"]]

    assert codes[:4] == ["gold-small", "gold-medium", "gold-large", "gold-vip"]


@pytest.mark.django_db
def test_webhook_with_a_differing_amount_is_recorded_flagged_and_not_credited(
    player, client, pending_gateway
):
    GoldPackFactory(code="pack", price_cents=4900, currency="KRW", gold_amount=5000)
    receipt = post(client, "/api/shop/buy", {"product_code": "pack"}).json()["purchase"]["receipt"]

    response = deliver(
        {
            "event_id": "evt_cheap",
            "type": "payment.succeeded",
            "receipt": receipt,
            "amount": 49,
            "currency": "KRW",
        }
    )

    assert response.json() == {"status": "review"}
    purchase = Purchase.objects.get(receipt=receipt)
    assert (purchase.status, purchase.needs_review, purchase.review_reasons) == (
        "failed",
        True,
        ["amount_mismatch"],
    )
    assert WebhookEvent.objects.get(event_id="evt_cheap").purchase == purchase
    assert gold_credits(player) == []
    assert balance(player) == 1000


@pytest.mark.django_db
def test_admin_lists_purchases_by_review_reason(player, client, admin_client, pending_gateway):
    GoldPackFactory(code="pack")
    flagged = post(client, "/api/shop/buy", {"product_code": "pack"}).json()["purchase"]["receipt"]
    clean = post(client, "/api/shop/buy", {"product_code": "pack"}).json()["purchase"]["receipt"]
    Purchase.objects.filter(receipt=flagged).update(
        needs_review=True, review_reasons=["amount_mismatch"]
    )

    response = admin_client.get("/admin/shop/purchase/?review_reason=amount_mismatch")

    assert response.status_code == 200
    content = response.content.decode()
    assert flagged in content
    assert clean not in content


@pytest.mark.django_db
def test_a_retried_buy_finds_its_first_purchase_and_another_product_is_422(player, client):
    GoldPackFactory(code="pack", gold_amount=5000)
    GoldPackFactory(code="other")
    first = services.shop_buy_reserve(player, "pack", idempotency_key="same-key-0001")

    again = services.shop_buy_reserve(player, "pack", idempotency_key="same-key-0001")
    mismatch = post(client, "/api/shop/buy", {"product_code": "other"}, key="same-key-0001")

    assert again.pk == first.pk
    assert first.receipt == services.receipt_for_request(player.pk, "same-key-0001")
    assert (mismatch.status_code, mismatch.json()["error"]["code"]) == (422, "idempotency_mismatch")
    assert Purchase.objects.count() == 1
