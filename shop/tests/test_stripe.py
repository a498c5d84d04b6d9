"""Stripe through its adapter, against a local recording server (no network): checkout, the
charge/settle split, signed webhooks, amount checks, late payments, refunds and disputes."""

import itertools
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AuditLogEntry, LedgerEntry, Wallet
from accounts.selectors import ledger_violations
from accounts.tokens import token_pair_for_user
from games.tests.factories import funded_player
from shop import services
from shop.models import LimitedPackage, Purchase, WebhookEvent
from shop.tests import stripe_server
from shop.tests.factories import GoldPackFactory, LimitedPackageFactory

WEBHOOK_SECRET = "whsec_test_secret"
keys = (f"stripe-{n:08d}" for n in itertools.count())


@pytest.fixture
def fake_stripe(settings):
    fake = stripe_server.start()
    settings.PAYMENT_GATEWAY = "shop.stripe_gateway.StripeGateway"
    settings.STRIPE_SECRET_KEY = "sk_test_local"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = fake.base
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.PAYMENT_SUCCESS_URL = "https://casino.example/shop/?checkout=success&receipt={receipt}"
    settings.PAYMENT_CANCEL_URL = "https://casino.example/shop/?checkout=cancel&receipt={receipt}"
    yield fake
    assert fake.server is not None
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def player(db):
    return funded_player(1000)


@pytest.fixture
def client(player):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for_user(player)['access']}")
    return client


def buy(client, path="/api/shop/buy", body=None, key=None):
    return client.post(
        path,
        body or {"product_code": "pack"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key or next(keys),
    )


def deliver(payload: dict, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None):
    body = json.dumps(payload).encode()
    return APIClient().post(
        "/api/shop/webhook/stripe",
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stripe_server.sign(body, secret, timestamp=timestamp),
    )


def completed(fake, session_id: str, **kwargs) -> dict:
    fake.pay(session_id, **kwargs)
    return stripe_server.event("checkout.session.completed", dict(fake.sessions[session_id]))


def balance(user) -> int:
    return Wallet.objects.get(pk=user.pk).balance


def gold_credits(user) -> list[int]:
    return list(
        LedgerEntry.objects.filter(wallet_id=user.pk, reason="purchase_credit").values_list(
            "delta", flat=True
        )
    )


@pytest.mark.django_db
def test_a_buy_opens_a_checkout_session_keyed_by_the_receipt_and_stays_pending(
    player, client, fake_stripe
):
    GoldPackFactory(code="pack", name="Pouch", price_cents=1200, currency="KRW", gold_amount=5000)

    response = buy(client)

    body = response.json()
    assert response.status_code == 200
    receipt = body["purchase"]["receipt"]
    assert body["purchase"]["status"] == "pending"
    [create] = fake_stripe.posts("/v1/checkout/sessions")
    assert create.idempotency_key == receipt
    assert create.authorization == "Bearer sk_test_local"
    assert (create.params["mode"], create.params["client_reference_id"]) == ("payment", receipt)
    assert create.params["line_items[0][price_data][unit_amount]"] == "1200"
    assert create.params["line_items[0][price_data][currency]"] == "krw"
    assert create.params["line_items[0][price_data][product_data][name]"] == "Pouch"
    assert create.params["payment_intent_data[metadata][receipt]"] == receipt
    assert create.params["success_url"] == (
        f"https://casino.example/shop/?checkout=success&receipt={receipt}"
    )
    purchase = Purchase.objects.get(receipt=receipt)
    assert create.params["expires_at"] == str(
        int((purchase.created_at + timedelta(minutes=35)).timestamp())
    )
    session_id = next(iter(fake_stripe.sessions))
    assert body["checkout_url"] == f"https://checkout.stripe.com/c/pay/{session_id}"
    purchase = Purchase.objects.get(receipt=receipt)
    assert (purchase.gateway, purchase.gateway_ref) == ("stripe", session_id)
    assert balance(player) == 1000
    assert gold_credits(player) == []


@pytest.mark.django_db
def test_a_failure_between_charge_and_settle_is_retried_without_a_second_charge(
    player, client, fake_stripe, monkeypatch
):
    GoldPackFactory(code="pack", price_cents=1200, gold_amount=5000)
    settle = services.purchase_charge_settle
    calls = []

    def settle_failing_once(purchase_id, result, **known):
        calls.append(purchase_id)
        if len(calls) == 1:
            raise RuntimeError("the process died after the provider answered")
        return settle(purchase_id, result, **known)

    monkeypatch.setattr(services, "purchase_charge_settle", settle_failing_once)

    failed = buy(client, key="retry-me-0001")
    retried = buy(client, key="retry-me-0001")
    replayed = buy(client, key="retry-me-0001")

    assert failed.status_code == 500
    receipt = retried.json()["purchase"]["receipt"]
    creates = fake_stripe.posts("/v1/checkout/sessions")
    assert [request.idempotency_key for request in creates] == [receipt]
    assert Purchase.objects.count() == 1
    assert retried.json()["purchase"]["status"] == "pending"
    assert retried.json()["checkout_url"] is not None
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.content == retried.content
    session_id = Purchase.objects.get().gateway_ref
    assert deliver(completed(fake_stripe, session_id)).json() == {"status": "processed"}
    services.purchases_settle_pending()
    assert [request.idempotency_key for request in fake_stripe.posts("/v1/checkout/sessions")] == [
        receipt
    ]
    assert Purchase.objects.get().status == "success"
    assert gold_credits(player) == [5000]
    assert balance(player) == 6000


@pytest.mark.django_db
def test_a_failure_between_charge_and_settle_is_resolved_by_the_job_without_a_retry(
    player, client, fake_stripe, monkeypatch
):
    GoldPackFactory(code="pack", price_cents=1200, gold_amount=5000)

    def settle_failing(purchase_id, result):
        raise RuntimeError("the process died after the provider answered")

    with monkeypatch.context() as patch:
        patch.setattr(services, "purchase_charge_settle", settle_failing)
        assert buy(client).status_code == 500
    purchase = Purchase.objects.get()
    assert (purchase.status, purchase.gateway_ref) == ("pending", next(iter(fake_stripe.sessions)))
    fake_stripe.pay(purchase.gateway_ref)

    counts = services.purchases_settle_pending()

    assert counts == {"success": 1, "failed": 0, "pending": 0}
    assert [r.idempotency_key for r in fake_stripe.posts("/v1/checkout/sessions")] == [
        purchase.receipt
    ]
    assert gold_credits(player) == [5000]


@pytest.mark.django_db
def test_the_settlement_job_asks_stripe_and_never_charges_again(player, client, fake_stripe):
    GoldPackFactory(code="pack", price_cents=1200, gold_amount=5000)
    receipt = buy(client).json()["purchase"]["receipt"]
    services.purchases_settle_pending()
    assert Purchase.objects.get(receipt=receipt).status == "pending"
    intent_id = fake_stripe.pay(Purchase.objects.get(receipt=receipt).gateway_ref)

    counts = services.purchases_settle_pending()

    assert counts == {"success": 1, "failed": 0, "pending": 0}
    purchase = Purchase.objects.get(receipt=receipt)
    assert (purchase.status, purchase.gateway_ref) == ("success", intent_id)
    assert len(fake_stripe.posts("/v1/checkout/sessions")) == 1
    assert [r.path.split("/")[2] for r in fake_stripe.gets()] == ["checkout", "checkout"]
    assert gold_credits(player) == [5000]


@pytest.mark.django_db
def test_stripe_unreachable_is_503_and_a_retry_charges_once(player, client, fake_stripe, settings):
    GoldPackFactory(code="pack", price_cents=1200, gold_amount=5000)
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there

    down = buy(client, key="provider-down-01")
    settings.STRIPE_API_BASE = fake_stripe.base
    again = buy(client, key="provider-down-01")

    assert (down.status_code, down.json()["error"]["code"]) == (503, "payment_provider_unavailable")
    assert again.status_code == 200
    purchase = Purchase.objects.get()
    assert purchase.receipt == again.json()["purchase"]["receipt"]
    assert [r.idempotency_key for r in fake_stripe.posts("/v1/checkout/sessions")] == [
        purchase.receipt
    ]


@pytest.mark.django_db
def test_a_completed_checkout_credits_once_and_every_replay_is_ignored(player, client, fake_stripe):
    GoldPackFactory(code="pack", price_cents=1200, gold_amount=5000)
    receipt = buy(client).json()["purchase"]["receipt"]
    session_id = Purchase.objects.get(receipt=receipt).gateway_ref
    event = completed(fake_stripe, session_id)
    intent_id = fake_stripe.sessions[session_id]["payment_intent"]
    intent_event = stripe_server.event("payment_intent.succeeded", fake_stripe.intents[intent_id])

    results = [deliver(event).json(), deliver(event).json(), deliver(intent_event).json()]

    assert results == [{"status": "processed"}, {"status": "duplicate"}, {"status": "ignored"}]
    purchase = Purchase.objects.get(receipt=receipt)
    assert (purchase.status, purchase.gateway_ref) == ("success", intent_id)
    assert gold_credits(player) == [5000]
    assert WebhookEvent.objects.count() == 2
    assert ledger_violations() == []


@pytest.mark.parametrize(
    "tamper",
    [
        {"secret": "whsec_someone_else"},
        {"timestamp": int(timezone.now().timestamp()) - 301},
    ],
)
@pytest.mark.django_db
def test_a_webhook_without_stripes_signature_is_401_and_changes_nothing(
    player, client, fake_stripe, tamper
):
    GoldPackFactory(code="pack", price_cents=1200)
    receipt = buy(client).json()["purchase"]["receipt"]
    event = completed(fake_stripe, Purchase.objects.get(receipt=receipt).gateway_ref)

    response = deliver(event, **tamper)

    assert (response.status_code, response.json()["error"]["code"]) == (401, "invalid_signature")
    assert Purchase.objects.get(receipt=receipt).status == "pending"
    assert gold_credits(player) == []
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_a_webhook_is_refused_while_no_endpoint_secret_is_configured(
    player, client, fake_stripe, settings
):
    GoldPackFactory(code="pack", price_cents=1200)
    receipt = buy(client).json()["purchase"]["receipt"]
    event = completed(fake_stripe, Purchase.objects.get(receipt=receipt).gateway_ref)
    settings.STRIPE_WEBHOOK_SECRET = ""

    response = deliver(event, secret="")

    assert response.status_code == 401
    assert Purchase.objects.get(receipt=receipt).status == "pending"


@pytest.mark.django_db
def test_a_failed_payment_fails_the_purchase_and_returns_the_held_unit(player, client, fake_stripe):
    LimitedPackageFactory(code="drop", total_stock=3, price_cents=9900)
    receipt = buy(client, "/api/shop/buy-limited", {"package_code": "drop"}).json()["purchase"][
        "receipt"
    ]
    assert LimitedPackage.objects.get(code="drop").remaining_stock == 2
    failed_intent = {
        "id": "pi_test_declined",
        "object": "payment_intent",
        "amount": 9900,
        "currency": "krw",
        "last_payment_error": {"code": "card_declined", "decline_code": "insufficient_funds"},
        "metadata": {"receipt": receipt},
        "status": "requires_payment_method",
    }

    response = deliver(stripe_server.event("payment_intent.payment_failed", failed_intent))

    assert response.json() == {"status": "processed"}
    purchase = Purchase.objects.get(receipt=receipt)
    assert (purchase.status, purchase.failure_reason) == ("failed", "insufficient_funds")
    assert LimitedPackage.objects.get(code="drop").remaining_stock == 3
    assert gold_credits(player) == []


@pytest.mark.parametrize(
    "paid", [{"amount": 1199}, {"currency": "usd"}], ids=["amount", "currency"]
)
@pytest.mark.django_db
def test_a_payment_that_differs_from_the_purchase_is_not_credited_and_is_flagged(
    player, client, fake_stripe, paid
):
    GoldPackFactory(code="pack", price_cents=1200, currency="KRW", gold_amount=5000)
    receipt = buy(client).json()["purchase"]["receipt"]
    event = completed(fake_stripe, Purchase.objects.get(receipt=receipt).gateway_ref, **paid)

    response = deliver(event)

    assert response.json() == {"status": "review"}
    purchase = Purchase.objects.get(receipt=receipt)
    assert (purchase.status, purchase.needs_review, purchase.review_reasons) == (
        "failed",
        True,
        ["amount_mismatch"],
    )
    assert WebhookEvent.objects.filter(purchase=purchase).count() == 1
    assert gold_credits(player) == []
    assert balance(player) == 1000
    services.purchases_settle_pending()
    assert gold_credits(player) == []


@pytest.mark.django_db
def test_the_settlement_job_also_refuses_a_differing_amount(player, client, fake_stripe):
    GoldPackFactory(code="pack", price_cents=1200, gold_amount=5000)
    receipt = buy(client).json()["purchase"]["receipt"]
    fake_stripe.pay(Purchase.objects.get(receipt=receipt).gateway_ref, amount=12)

    services.purchases_settle_pending()

    purchase = Purchase.objects.get(receipt=receipt)
    assert (purchase.status, purchase.review_reasons) == ("failed", ["amount_mismatch"])
    assert gold_credits(player) == []


def expired_limited_purchase(client, fake_stripe) -> Purchase:
    LimitedPackageFactory(code="drop", total_stock=1, price_cents=9900, gold_amount=20000)
    receipt = buy(client, "/api/shop/buy-limited", {"package_code": "drop"}).json()["purchase"][
        "receipt"
    ]
    services.purchases_settle_pending(now=timezone.now() + timedelta(seconds=301))
    purchase = Purchase.objects.get(receipt=receipt)
    assert (purchase.status, purchase.failure_reason) == ("failed", "expired")
    assert LimitedPackage.objects.get(code="drop").remaining_stock == 1
    return purchase


@pytest.mark.django_db
def test_a_payment_after_the_hold_expired_is_credited_when_stock_allows(
    player, client, fake_stripe
):
    purchase = expired_limited_purchase(client, fake_stripe)
    event = completed(fake_stripe, purchase.gateway_ref)

    first, again = deliver(event).json(), deliver(event).json()

    assert (first, again) == ({"status": "review"}, {"status": "duplicate"})
    purchase.refresh_from_db()
    assert (purchase.status, purchase.needs_review, purchase.review_reasons) == (
        "success",
        True,
        ["late_payment_credited"],
    )
    assert purchase.failure_reason == ""
    assert LimitedPackage.objects.get(code="drop").remaining_stock == 0
    assert gold_credits(player) == [20000]
    assert fake_stripe.posts("/v1/refunds") == []


@pytest.mark.django_db
def test_a_payment_after_the_hold_expired_is_refunded_when_sold_out(player, client, fake_stripe):
    purchase = expired_limited_purchase(client, fake_stripe)
    LimitedPackage.objects.filter(code="drop").update(remaining_stock=0)  # someone bought it
    event = completed(fake_stripe, purchase.gateway_ref)
    intent_id = fake_stripe.sessions[purchase.gateway_ref]["payment_intent"]
    intent_event = stripe_server.event("payment_intent.succeeded", fake_stripe.intents[intent_id])

    results = [deliver(event).json(), deliver(event).json(), deliver(intent_event).json()]

    assert results == [{"status": "review"}, {"status": "duplicate"}, {"status": "ignored"}]
    [refund] = fake_stripe.posts("/v1/refunds")
    assert (refund.params["payment_intent"], refund.params["amount"]) == (intent_id, "9900")
    assert refund.idempotency_key == f"late-payment-refund:{purchase.receipt}"
    purchase.refresh_from_db()
    assert (purchase.status, purchase.needs_review, purchase.review_reasons) == (
        "failed",
        True,
        ["late_payment_refunded"],
    )
    assert LimitedPackage.objects.get(code="drop").remaining_stock == 0
    assert gold_credits(player) == []


def paid_purchase(client, fake_stripe) -> tuple[Purchase, str]:
    receipt = buy(client).json()["purchase"]["receipt"]
    session_id = Purchase.objects.get(receipt=receipt).gateway_ref
    assert deliver(completed(fake_stripe, session_id)).json() == {"status": "processed"}
    purchase = Purchase.objects.get(receipt=receipt)
    return purchase, purchase.gateway_ref


@pytest.mark.parametrize(
    ("event_type", "obj"),
    [
        (
            "charge.refunded",
            lambda pi: {"id": "ch_1", "object": "charge", "amount": 1200, "amount_refunded": 1200,
                        "currency": "krw", "payment_intent": pi, "refunded": True,
                        "metadata": {}},
        ),
        (
            "charge.dispute.created",
            lambda pi: {"id": "dp_1", "object": "dispute", "amount": 1200, "charge": "ch_1",
                        "currency": "krw", "payment_intent": pi, "reason": "fraudulent",
                        "status": "needs_response"},
        ),
    ],
    ids=["refund", "dispute"],
)  # fmt: skip
@pytest.mark.django_db
def test_a_refund_or_dispute_at_stripe_reverses_the_purchase_once(
    player, client, fake_stripe, event_type, obj
):
    GoldPackFactory(code="pack", price_cents=1200, gold_amount=5000)
    purchase, intent_id = paid_purchase(client, fake_stripe)
    event = stripe_server.event(event_type, obj(intent_id))

    first, replay = deliver(event).json(), deliver(event).json()

    assert (first, replay) == ({"status": "processed"}, {"status": "duplicate"})
    purchase.refresh_from_db()
    assert purchase.status == "refunded"
    assert balance(player) == 1000
    clawbacks = LedgerEntry.objects.filter(wallet_id=player.pk, reason="refund_clawback")
    assert list(clawbacks.values_list("delta", flat=True)) == [-5000]
    kind = "refund" if event_type == "charge.refunded" else "dispute"
    assert (purchase.reversal_kind, purchase.reversal_source) == (kind, "provider")
    audits = AuditLogEntry.objects.filter(target=purchase.receipt)
    assert list(audits.values_list("action", flat=True)) == [f"purchase_{kind}"]
    second = stripe_server.event(event_type, obj(intent_id))
    assert deliver(second).json() == {"status": "ignored"}
    assert clawbacks.count() == 1
    assert ledger_violations() == []


@pytest.mark.django_db
def test_a_partial_refund_at_stripe_flags_the_purchase_and_keeps_the_gold(
    player, client, fake_stripe
):
    GoldPackFactory(code="pack", price_cents=1200, gold_amount=5000)
    purchase, intent_id = paid_purchase(client, fake_stripe)
    charge = {"id": "ch_1", "object": "charge", "amount": 1200, "amount_refunded": 200,
              "currency": "krw", "payment_intent": intent_id, "refunded": False, "metadata": {}}  # fmt: skip

    response = deliver(stripe_server.event("charge.refunded", charge))

    assert response.json() == {"status": "review"}
    purchase.refresh_from_db()
    assert (purchase.status, purchase.review_reasons) == ("success", ["partial_refund"])
    assert balance(player) == 6000


@pytest.mark.django_db
def test_an_unknown_event_type_is_stored_and_ignored(player, client, fake_stripe):
    response = deliver(
        stripe_server.event("customer.created", {"id": "cus_1", "object": "customer"})
    )

    assert response.json() == {"status": "ignored"}
    assert WebhookEvent.objects.get().event_type == "customer.created"


@pytest.mark.django_db
def test_the_simulated_webhook_route_is_closed_when_stripe_is_the_gateway(fake_stripe):
    response = APIClient().post("/api/shop/webhook/payment", b"{}", content_type="application/json")

    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


@pytest.mark.django_db(transaction=True)
def test_a_slow_provider_holds_no_lock_other_buyers_wait_on(fake_stripe):
    import threading

    LimitedPackageFactory(code="drop", total_stock=5, price_cents=9900)
    first, second = funded_player(0), funded_player(0)
    release = threading.Event()
    fake_stripe.hold_first_create = release
    results = {}

    def first_buyer():
        from django.db import connection

        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for_user(first)['access']}")
            results["first"] = buy(client, "/api/shop/buy-limited", {"package_code": "drop"})
        finally:
            connection.close()

    thread = threading.Thread(target=first_buyer)
    thread.start()
    assert fake_stripe.create_started.wait(timeout=10)
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for_user(second)['access']}")

    while_first_waits = buy(other, "/api/shop/buy-limited", {"package_code": "drop"})

    assert while_first_waits.status_code == 200
    assert "first" not in results
    release.set()
    thread.join(timeout=30)
    assert results["first"].status_code == 200
    assert LimitedPackage.objects.get(code="drop").remaining_stock == 3
