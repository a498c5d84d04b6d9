"""Shop state changes: buying, the purchase state machine, webhooks, settlement, refunds.

Invariants:
- price and gold always come from the server's catalog, never from the request;
- a purchase's status changes only through ``purchase_transition`` along ``TRANSITIONS``, under
  the purchase's row lock, so each effect (credit, grant, stock release, clawback) happens once;
  the gold credit's ledger key is the receipt, a second guard against double credit;
- limited stock is taken by a conditional ``UPDATE … remaining_stock - 1 WHERE remaining_stock > 0``
  that also locks the package row, serialising the per-user-limit check: never oversold;
- a webhook is accepted once per event id and once per nonce (unique constraints);
- every transition sends ``purchase_update`` and counts ``purchase_attempt_total``, after commit.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import LedgerReason, User, Wallet
from accounts.services import (
    audit_log_record,
    inventory_add,
    wallet_credit,
    wallet_debit,
    wallets_lock,
)
from accounts.services.responsible import play_allowed_check, purchase_allowed_check
from casinoclub import domain_events
from casinoclub.jsonparse import json_loads_limited
from casinoclub.realtime.services import realtime_publish
from shop import exceptions, metrics
from shop.gateway import ChargeResult, ChargeStatus, gateway_get
from shop.models import (
    LimitedPackage,
    Product,
    ProductKind,
    PromoCode,
    PromoKind,
    PromoRedemption,
    Purchase,
    PurchaseFlow,
    PurchaseStatus,
    WebhookEvent,
)
from shop.selectors import money_spent_today, product_price, rank_allows

S = PurchaseStatus
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.SUCCESS, S.FAILED}),
    S.SUCCESS: frozenset({S.REFUNDED}),
    S.FAILED: frozenset(),
    S.REFUNDED: frozenset(),
}


# ---------------------------------------------------------------- receipts


def receipt_signature(purchase: Purchase) -> str:
    """HMAC-SHA256 over the purchase's immutable facts, keyed by ``RECEIPT_SIGNING_KEY``."""
    message = "|".join(
        str(part)
        for part in (
            purchase.receipt,
            purchase.user_id,
            purchase.flow,
            purchase.price_cents,
            purchase.price_gold,
            purchase.gold,
            purchase.currency,
            purchase.created_at.isoformat(),
        )
    )
    key = settings.RECEIPT_SIGNING_KEY.encode()
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def _purchase_create(**fields: Any) -> Purchase:
    purchase = Purchase(receipt=f"R{secrets.token_hex(12).upper()}", **fields)
    purchase.signature = receipt_signature(purchase)
    purchase.save()
    return purchase


# ---------------------------------------------------------------- the state machine


def _message(purchase: Purchase) -> dict[str, Any]:
    return {
        "receipt": purchase.receipt,
        "status": purchase.status,
        "flow": purchase.flow,
        "gold": purchase.gold,
        "items": purchase.items,
        "failure_reason": purchase.failure_reason,
    }


def _count(purchase: Purchase, result: str, reason: str = "") -> None:
    flow = purchase.flow
    transaction.on_commit(
        lambda: metrics.purchase_attempt_total.labels(flow=flow, result=result, reason=reason).inc()
    )


def _grant(purchase: Purchase) -> None:
    if purchase.gold:
        wallet_credit(
            purchase.user_id,
            purchase.gold,
            reason=LedgerReason.PURCHASE_CREDIT,
            reference=f"purchase:{purchase.receipt}",
            idempotency_key=f"purchase:{purchase.receipt}",
        )
    for item in purchase.items:
        inventory_add(purchase.user_id, item["item_code"], int(item.get("quantity", 1)))


def _release(purchase: Purchase) -> None:
    """Give back what a failed purchase reserved: limited stock and the promo use."""
    if purchase.package_id is not None:
        LimitedPackage.objects.filter(pk=purchase.package_id).update(
            remaining_stock=F("remaining_stock") + 1
        )
    if purchase.promo_id is not None:
        PromoCode.objects.filter(pk=purchase.promo_id).update(uses=F("uses") - 1)
        PromoRedemption.objects.filter(
            promo_id=purchase.promo_id, user_id=purchase.user_id
        ).delete()


def _clawback(purchase: Purchase) -> int:
    """Take back a refunded purchase's gold, never below zero; returns the shortfall."""
    if not purchase.gold:
        return 0
    balance = Wallet.objects.select_for_update().get(pk=purchase.user_id).balance
    taken = min(balance, purchase.gold)
    if taken:
        wallet_debit(
            purchase.user_id,
            taken,
            reason=LedgerReason.REFUND_CLAWBACK,
            reference=f"refund:{purchase.receipt}",
            idempotency_key=f"refund:{purchase.receipt}",
        )
    return purchase.gold - taken


def purchase_transition(purchase_id: int, to_status: str, *, reason: str = "") -> Purchase:
    """Move a purchase along ``TRANSITIONS`` and apply that step's effect exactly once.

    Runs in the caller's transaction or opens one; locks the purchase. Moving a purchase to the
    state it is already in returns it unchanged (idempotent); any other illegal move raises
    ``IllegalTransition``.
    """
    with transaction.atomic():
        purchase = Purchase.objects.select_for_update().get(pk=purchase_id)
        if purchase.status == to_status:
            return purchase
        if to_status not in TRANSITIONS[purchase.status]:
            raise exceptions.IllegalTransition(details={"from": purchase.status, "to": to_status})
        if to_status == S.SUCCESS:
            _grant(purchase)
            domain_events.purchase_succeeded.send(
                sender=Purchase,
                event=domain_events.PurchaseSucceeded(
                    user_id=purchase.user_id,
                    receipt=purchase.receipt,
                    flow=purchase.flow,
                    product_code=purchase.product.code if purchase.product else None,
                    price_cents=purchase.price_cents,
                    price_gold=purchase.price_gold,
                    gold=purchase.gold,
                ),
            )
        elif to_status == S.FAILED:
            _release(purchase)
        elif to_status == S.REFUNDED:
            purchase.needs_review = _clawback(purchase) > 0
        purchase.status = to_status
        purchase.failure_reason = reason if to_status == S.FAILED else purchase.failure_reason
        purchase.settled_at = timezone.now()
        purchase.save(
            update_fields=["status", "failure_reason", "needs_review", "settled_at", "updated_at"]
        )
        realtime_publish(purchase.user_id, "purchase_update", _message(purchase))
        _count(purchase, to_status, reason)
        return purchase


def _apply_charge(purchase: Purchase, result: ChargeResult) -> Purchase:
    Purchase.objects.filter(pk=purchase.pk).update(gateway_ref=result.gateway_ref)
    if result.status == ChargeStatus.SUCCEEDED:
        return purchase_transition(purchase.pk, S.SUCCESS)
    if result.status == ChargeStatus.DECLINED:
        return purchase_transition(purchase.pk, S.FAILED, reason=result.reason or "declined")
    purchase.refresh_from_db()
    return purchase


def _charge(purchase: Purchase) -> Purchase:
    """Charge a new pending purchase through the gateway (the receipt is its idempotency key)."""
    # The wallet row before the realtime cursor, the order of every gold change: a spin running
    # at the same time (wallet, then cursor) would otherwise deadlock with this purchase.
    wallets_lock([purchase.user_id])
    realtime_publish(purchase.user_id, "purchase_update", _message(purchase))
    _count(purchase, S.PENDING)
    gateway = gateway_get()
    Purchase.objects.filter(pk=purchase.pk).update(gateway=gateway.name)
    result = gateway.charge(
        receipt=purchase.receipt, amount_cents=purchase.price_cents, currency=purchase.currency
    )
    return _apply_charge(purchase, result)


# ---------------------------------------------------------------- buying


def shop_buy(user: User, product_code: str) -> Purchase:
    """Buy a catalog product. Runs in the caller's transaction (``run_idempotent``) or opens one.

    A gold-priced item is paid from the wallet and granted at once; a gold pack is charged through
    the gateway and ends success, failed or pending. Raises ``ProductNotFound``, ``RankRequired``,
    ``InsufficientFunds``.
    """
    with transaction.atomic():
        product = Product.objects.filter(code=product_code, is_active=True).first()
        if product is None:
            raise exceptions.ProductNotFound()
        if not rank_allows(user.rank, product.min_rank):
            raise exceptions.RankRequired()
        price = product_price(product, timezone.now())
        if product.kind == ProductKind.ITEM:
            play_allowed_check(user.pk)
            purchase = _purchase_create(
                user=user,
                flow=PurchaseFlow.ITEM,
                product=product,
                status=S.PENDING,
                price_gold=price,
                items=[{"item_code": product.item_code, "quantity": 1}],
            )
            wallet_debit(
                user.pk,
                price,
                reason=LedgerReason.SHOP_PURCHASE,
                reference=f"purchase:{purchase.receipt}",
                idempotency_key=f"purchase-debit:{purchase.receipt}",
            )
            return purchase_transition(purchase.pk, S.SUCCESS)
        purchase_allowed_check(user.pk, price, money_spent_today(user.pk))
        purchase = _purchase_create(
            user=user,
            flow=PurchaseFlow.GOLD_PACK,
            product=product,
            status=S.PENDING,
            price_cents=price,
            discount_cents=(product.price_cents or 0) - price,
            currency=product.currency,
            gold=product.gold_amount,
        )
        return _charge(purchase)


def _promo_take(user: User, code: str) -> PromoCode:
    """Take one use of a promo code for ``user`` (once per user). Must run in a transaction."""
    now = timezone.now()
    promo = (
        PromoCode.objects.filter(code=code, is_active=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .first()
    )
    if promo is None:
        raise exceptions.PromoInvalid()
    taken = (
        PromoCode.objects.filter(pk=promo.pk)
        .filter(Q(max_uses__isnull=True) | Q(uses__lt=F("max_uses")))
        .update(uses=F("uses") + 1)
    )
    if not taken:
        raise exceptions.PromoExhausted()
    try:
        with transaction.atomic():
            PromoRedemption.objects.create(promo=promo, user=user)
    except IntegrityError as error:
        raise exceptions.PromoAlreadyUsed() from error
    return promo


def _promo_price(price_cents: int, promo: PromoCode | None) -> int:
    if promo is None:
        return price_cents
    if promo.kind == PromoKind.PERCENT:
        return price_cents - price_cents * promo.value // 100
    return max(0, price_cents - promo.value)


def shop_buy_limited(user: User, package_code: str, promo_code: str | None = None) -> Purchase:
    """Reserve one unit of a limited package, apply a promo code, charge and grant.

    The unit is held until the charge settles (``hold_expires_at``); a declined or expired charge
    returns the unit and the promo use. Raises ``ProductNotFound`` (404), ``SaleWindowClosed`` /
    ``RankRequired`` (403), ``OutOfStock`` / ``PerUserLimitReached`` / ``PromoExhausted`` /
    ``PromoAlreadyUsed`` (409), ``PromoInvalid`` (404).
    """
    with transaction.atomic():
        package = LimitedPackage.objects.filter(code=package_code, is_active=True).first()
        if package is None:
            raise exceptions.ProductNotFound()
        now = timezone.now()
        if not package.starts_at <= now < package.ends_at:
            raise exceptions.SaleWindowClosed()
        if not rank_allows(user.rank, package.min_rank):
            raise exceptions.RankRequired()
        with connection.cursor() as cursor:  # takes the package row lock until commit
            cursor.execute(
                "UPDATE shop_limitedpackage SET remaining_stock = remaining_stock - 1"
                " WHERE id = %s AND remaining_stock > 0 RETURNING remaining_stock",
                [package.pk],
            )
            if cursor.fetchone() is None:
                raise exceptions.OutOfStock()
        bought = Purchase.objects.filter(
            user=user, package=package, status__in=[S.PENDING, S.SUCCESS]
        ).count()
        if bought >= package.per_user_limit:
            raise exceptions.PerUserLimitReached()
        promo = _promo_take(user, promo_code) if promo_code else None
        price = _promo_price(package.price_cents, promo)
        purchase_allowed_check(user.pk, price, money_spent_today(user.pk))
        purchase = _purchase_create(
            user=user,
            flow=PurchaseFlow.LIMITED,
            package=package,
            status=S.PENDING,
            price_cents=price,
            discount_cents=package.price_cents - price,
            currency=package.currency,
            gold=package.gold_amount,
            items=package.items,
            promo=promo,
            hold_expires_at=now + timedelta(seconds=settings.SHOP_HOLD_SECONDS),
        )
        return _charge(purchase)


# ---------------------------------------------------------------- settlement


def purchase_settle(purchase: Purchase) -> Purchase:
    """Ask the gateway about a pending purchase and apply the answer. Idempotent."""
    if purchase.status != S.PENDING:
        return purchase
    with transaction.atomic():
        result = gateway_get().fetch(gateway_ref=purchase.gateway_ref or f"sim_{purchase.receipt}")
        return _apply_charge(purchase, result)


def purchases_settle_pending(*, now: datetime | None = None) -> dict[str, int]:
    """Settle pending purchases with the gateway; expire those past their hold or the max age.

    Safe to run twice or concurrently: each purchase is settled under its row lock by the state
    machine. Returns counts by resulting status.
    """
    now = now or timezone.now()
    counts = {"success": 0, "failed": 0, "pending": 0}
    max_age = timedelta(seconds=settings.SHOP_PENDING_MAX_AGE_SECONDS)
    pending = Purchase.objects.filter(status=S.PENDING).order_by("id").values_list("pk", flat=True)
    for purchase_id in list(pending):
        purchase = Purchase.objects.get(pk=purchase_id)
        settled = purchase_settle(purchase)
        expired = (settled.hold_expires_at is not None and settled.hold_expires_at <= now) or (
            settled.created_at + max_age <= now
        )
        if settled.status == S.PENDING and expired:
            settled = purchase_transition(settled.pk, S.FAILED, reason="expired")
        counts[str(settled.status)] = counts.get(str(settled.status), 0) + 1
    return counts


def purchase_refund(purchase_id: int, *, actor: User, reason: str) -> Purchase:
    """Staff refund: success → refunded, the gold taken back as far as the balance allows.

    A shortfall flags the purchase ``needs_review`` (the balance never goes negative). Audited.
    """
    with transaction.atomic():
        purchase = purchase_transition(purchase_id, S.REFUNDED)
        audit_log_record(
            actor=actor,
            action="purchase_refund",
            target_user=purchase.user,
            target=purchase.receipt,
            before={"status": "success"},
            after={"status": purchase.status, "needs_review": purchase.needs_review},
            reason=reason,
        )
        return purchase


# ---------------------------------------------------------------- webhooks


def webhook_verify(*, timestamp: str, nonce: str, signature: str, body: bytes) -> dict[str, Any]:
    """Check the HMAC-SHA256 over ``timestamp.nonce.body`` and the timestamp window."""
    expected = hmac.new(
        settings.PAYMENT_WEBHOOK_SECRET.encode(),
        f"{timestamp}.{nonce}.".encode() + body,
        hashlib.sha256,
    ).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise exceptions.WebhookSignatureInvalid()
    try:
        sent_at = int(timestamp)
    except ValueError as error:
        raise exceptions.WebhookStale() from error
    if abs(timezone.now().timestamp() - sent_at) > settings.PAYMENT_WEBHOOK_TOLERANCE_SECONDS:
        raise exceptions.WebhookStale()
    try:
        payload = json_loads_limited(body)  # too deep: InvalidJSON (400 invalid_json)
    except ValueError as error:
        raise exceptions.WebhookRejected("The body is not JSON.") from error
    if not isinstance(payload, dict) or not isinstance(payload.get("event_id"), str):
        raise exceptions.WebhookRejected("An event needs event_id, type and receipt.")
    return payload


WEBHOOK_RESULTS = {"payment.succeeded": S.SUCCESS, "payment.failed": S.FAILED}


@transaction.atomic(durable=True)
def webhook_handle(*, nonce: str, payload: dict[str, Any]) -> str:
    """Apply a verified payment event once. Returns ``processed``, ``duplicate`` or ``ignored``."""
    event_type = payload.get("type")
    receipt = payload.get("receipt")
    if event_type not in WEBHOOK_RESULTS or not isinstance(receipt, str):
        raise exceptions.WebhookRejected("Unknown event type or receipt.")
    if WebhookEvent.objects.filter(nonce=nonce).exists():
        raise exceptions.WebhookReplayed()
    purchase = Purchase.objects.filter(receipt=receipt).first()
    try:
        with transaction.atomic():
            WebhookEvent.objects.create(
                event_id=payload["event_id"][:64],
                nonce=nonce[:64],
                event_type=event_type,
                purchase=purchase,
                payload=payload,
            )
    except IntegrityError:
        if WebhookEvent.objects.filter(nonce=nonce[:64]).exists():
            raise exceptions.WebhookReplayed() from None
        return "duplicate"
    if purchase is None:
        return "ignored"
    target = WEBHOOK_RESULTS[event_type]
    current = Purchase.objects.select_for_update().get(pk=purchase.pk)
    if current.status != S.PENDING:
        return "ignored"  # already settled (by the job, the settle route or an earlier event)
    reason = str(payload.get("reason", "payment_failed")) if target == S.FAILED else ""
    purchase_transition(purchase.pk, target, reason=reason[:64])
    return "processed"
