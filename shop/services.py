"""Shop state changes: buying, the purchase state machine, webhooks, settlement, refunds, stock.

Invariants:
- price and gold always come from the server's catalog, never from the request;
- a purchase's status changes only through ``purchase_transition`` along ``TRANSITIONS``, under
  the player's wallet lock and then the purchase's row lock, so each effect (credit, grant, stock
  release, clawback) happens once; the credit's ledger key is the receipt, a second guard;
- a money purchase is made in three steps (docs/decisions/0105-charge-outside-the-transaction.md):
  reserve (a pending purchase, its stock hold and the daily-limit check, committed under the
  player's wallet lock), charge (the provider, called with the receipt as its idempotency key while
  no database lock is held), settle (a second short transaction). A retry of the same request
  derives the same receipt and finds the same purchase; a purchase the provider knows is asked
  about (``fetch``), never charged again;
- the player's daily purchase limit is checked under the wallet lock every purchase of that player
  takes first, so concurrent buys cannot all pass it;
- limited stock is taken by a conditional ``UPDATE … remaining_stock - 1 WHERE remaining_stock > 0``
  that also locks the package row, serialising the per-user-limit check: never oversold;
- locks are taken wallet → purchase → package, everywhere;
- a provider event is applied once (unique event id and nonce); a paid amount or currency that
  differs from the purchase is never credited, and a payment after the hold expired is credited
  if stock allows, otherwise refunded at the provider: either way flagged for review;
- every transition sends ``purchase_update`` and counts ``purchase_attempt_total``, after commit;
- a refund or chargeback (``purchase_reverse``) takes back the gold, the items and, through
  ``purchase_reversed``, the progress the purchase gave, once; ``settled_at`` (the sale) never
  changes, ``refunded_at`` records the reversal;
- staff change limited stock only through ``limited_package_stock_adjust``, which moves total and
  remaining together under the row lock: units sold never come back on sale.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
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
    inventory_remove,
    wallet_credit,
    wallet_debit,
    wallets_lock,
)
from accounts.services.responsible import play_allowed_check, purchase_allowed_check
from casinoclub import domain_events
from casinoclub.idempotency import IdempotencyMismatch
from casinoclub.queueing import task_enqueue_after_commit
from casinoclub.realtime.services import realtime_publish
from shop import exceptions, metrics
from shop.gateway import (
    ChargeResult,
    ChargeStatus,
    PaymentEvent,
    PaymentEventKind,
    gateway_by_name,
    gateway_get,
)
from shop.models import (
    LimitedPackage,
    Product,
    ProductKind,
    PromoCode,
    PromoKind,
    PromoRedemption,
    ProviderRefundState,
    Purchase,
    PurchaseFlow,
    PurchaseStatus,
    ReversalKind,
    ReversalSource,
    ReviewReason,
    WebhookEvent,
)
from shop.selectors import money_spent_today, product_price, rank_allows

logger = logging.getLogger(__name__)

S = PurchaseStatus
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.SUCCESS, S.FAILED}),
    S.SUCCESS: frozenset({S.REFUNDED}),
    # A payment that arrives after its purchase failed (hold expired, or an earlier attempt was
    # declined): the transition takes the stock again first, or refuses with ``OutOfStock``.
    S.FAILED: frozenset({S.SUCCESS}),
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


def receipt_for_request(user_id: int, idempotency_key: str | None) -> str:
    """The receipt of the purchase a request makes: derived from the request's idempotency key
    (keyed HMAC, so a retry finds the same purchase and nobody can guess it), random without one."""
    if idempotency_key is None:
        return f"R{secrets.token_hex(12).upper()}"
    digest = hmac.new(
        settings.RECEIPT_SIGNING_KEY.encode(),
        f"purchase-receipt:{user_id}:{idempotency_key}".encode(),
        hashlib.sha256,
    ).hexdigest()
    return f"R{digest[:24].upper()}"


def _purchase_create(receipt: str, **fields: Any) -> Purchase:
    purchase = Purchase(receipt=receipt, **fields)
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
        entry = wallet_credit(
            purchase.user_id,
            purchase.gold,
            reason=LedgerReason.PURCHASE_CREDIT,
            reference=f"purchase:{purchase.receipt}",
            idempotency_key=f"purchase:{purchase.receipt}",
        )
        purchase.balance_after = entry.balance_after
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


def _retake(purchase: Purchase) -> None:
    """Take again what a failed purchase gave back, for a payment that arrived late.

    The stock unit or ``OutOfStock``; the promo use if one is left (the player paid the promo
    price either way, and the purchase is flagged for review).
    """
    if purchase.package_id is not None:
        taken = LimitedPackage.objects.filter(pk=purchase.package_id, remaining_stock__gt=0).update(
            remaining_stock=F("remaining_stock") - 1
        )
        if not taken:
            raise exceptions.OutOfStock()
    if purchase.promo_id is not None:
        taken = (
            PromoCode.objects.filter(pk=purchase.promo_id)
            .filter(Q(max_uses__isnull=True) | Q(uses__lt=F("max_uses")))
            .update(uses=F("uses") + 1)
        )
        if taken:
            PromoRedemption.objects.get_or_create(promo_id=purchase.promo_id, user=purchase.user)


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


def _purchase_lock(purchase_id: int, user_id: int | None = None) -> Purchase:
    """Lock the player's wallet, then the purchase (the shop's lock order). In a transaction.

    ``user_id``: the purchase's player when the caller knows it (a purchase never changes
    player), which saves reading it first. The product comes with the purchase (its code is in
    the success event)."""
    if user_id is None:
        user_id = Purchase.objects.filter(pk=purchase_id).values_list("user_id", flat=True).get()
    wallets_lock([user_id])
    return (
        Purchase.objects.select_for_update(of=("self",))
        .select_related("product")
        .get(pk=purchase_id, user_id=user_id)
    )


def _review_reason_add(purchase: Purchase, review_reason: str) -> None:
    """Flag a purchase for staff review with one more ``ReviewReason`` code (not saved)."""
    purchase.needs_review = True
    if review_reason not in purchase.review_reasons:
        purchase.review_reasons = [*purchase.review_reasons, review_reason]


def _flag(purchase: Purchase, review_reason: str) -> Purchase:
    """Flag a locked purchase for staff review. Must run in the transaction holding its lock."""
    _review_reason_add(purchase, review_reason)
    purchase.save(update_fields=["needs_review", "review_reasons", "updated_at"])
    return purchase


def purchase_transition(
    purchase_id: int, to_status: str, *, reason: str = "", review_reason: str = ""
) -> Purchase:
    """Move a purchase along ``TRANSITIONS`` and apply that step's effect exactly once.

    Runs in the caller's transaction or opens one; locks the player's wallet, then the purchase.
    Moving a purchase to the state it is already in returns it unchanged (idempotent); any other
    illegal move raises ``IllegalTransition``; failed → success raises ``OutOfStock`` when the
    stock it gave back is gone. ``review_reason`` flags the purchase for staff review.
    """
    if connection.in_atomic_block:
        # No savepoint: every refusal (``IllegalTransition``, ``OutOfStock``) comes before the
        # step's first write.
        return _transition(
            _purchase_lock(purchase_id), to_status, reason=reason, review_reason=review_reason
        )
    with transaction.atomic():
        return _transition(
            _purchase_lock(purchase_id), to_status, reason=reason, review_reason=review_reason
        )


def _transition(
    purchase: Purchase, to_status: str, *, reason: str = "", review_reason: str = ""
) -> Purchase:
    """``purchase_transition`` of a purchase locked by the caller (``_purchase_lock``)."""
    if purchase.status == to_status:
        return purchase
    if to_status not in TRANSITIONS[purchase.status] or to_status == S.REFUNDED:
        # success → refunded has effects of its own: only ``purchase_reverse`` makes it
        raise exceptions.IllegalTransition(details={"from": purchase.status, "to": to_status})
    if to_status == S.SUCCESS:
        if purchase.status == S.FAILED:
            _retake(purchase)
        _grant(purchase)
        domain_events.domain_event_record(
            domain_events.PurchaseSucceeded(
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
    if review_reason:
        _review_reason_add(purchase, review_reason)
    purchase.status = to_status
    purchase.failure_reason = reason if to_status == S.FAILED else ""
    purchase.settled_at = timezone.now()
    purchase.save(
        update_fields=[
            "status", "failure_reason", "needs_review", "review_reasons", "settled_at",
            "updated_at",
        ]
    )  # fmt: skip
    realtime_publish(purchase.user_id, "purchase_update", _message(purchase))
    _count(purchase, to_status, reason)
    return purchase


def _amount_differs(purchase: Purchase, amount_cents: int | None, currency: str) -> bool:
    """Whether a provider's paid amount or currency contradicts the purchase (unreported: no)."""
    if amount_cents is not None and amount_cents != purchase.price_cents:
        return True
    return bool(currency) and currency.upper() != purchase.currency.upper()


def _apply_charge(purchase_id: int, result: ChargeResult, user_id: int | None = None) -> Purchase:
    """Apply a provider's answer to a pending purchase. Must run in a transaction."""
    purchase = _purchase_lock(purchase_id, user_id)
    if purchase.status != S.PENDING:
        return purchase
    if result.gateway_ref and result.gateway_ref != purchase.gateway_ref:
        purchase.gateway_ref = result.gateway_ref
        purchase.save(update_fields=["gateway_ref", "updated_at"])
    if result.status == ChargeStatus.SUCCEEDED:
        if _amount_differs(purchase, result.amount_cents, result.currency):
            return _transition(
                purchase,
                S.FAILED,
                reason=ReviewReason.AMOUNT_MISMATCH,
                review_reason=ReviewReason.AMOUNT_MISMATCH,
            )
        return _transition(purchase, S.SUCCESS)
    if result.status == ChargeStatus.DECLINED:
        return _transition(purchase, S.FAILED, reason=result.reason or "declined")
    return purchase


# ---------------------------------------------------------------- buying: reserve


def _existing(receipt: str, *, product_code: str = "", package_code: str = "") -> Purchase | None:
    """The purchase an earlier attempt of this request made; ``IdempotencyMismatch`` if the key
    was used for another product."""
    # a new key finds nothing: the cheap lookup first, the purchase with its product only for a
    # retry
    if not Purchase.objects.filter(receipt=receipt).exists():
        return None
    purchase = Purchase.objects.select_related("product", "package").get(receipt=receipt)
    bought = purchase.product.code if purchase.product else ""
    bought_package = purchase.package.code if purchase.package else ""
    if (bought, bought_package) != (product_code, package_code):
        raise IdempotencyMismatch()
    return purchase


def _reserved(purchase: Purchase) -> Purchase:
    """Announce a new pending money purchase (created with its gateway). In the reserve
    transaction."""
    realtime_publish(purchase.user_id, "purchase_update", _message(purchase))
    _count(purchase, S.PENDING)
    return purchase


def shop_buy_reserve(
    user: User, product_code: str, *, idempotency_key: str | None = None
) -> Purchase:
    """Step 1 of a buy. Runs in the caller's transaction (the idempotent request's) or opens one.

    Takes the player's wallet lock first: the daily-limit check and the purchase it allows are
    serialised with every other purchase of the player. A gold-priced item is paid from the wallet
    and granted at once; a gold pack becomes a pending purchase for ``purchase_charge``. The same
    ``idempotency_key`` returns the purchase of the first attempt. Raises ``ProductNotFound``,
    ``RankRequired``, ``InsufficientFunds``, ``PlayBlocked``, ``PurchaseLimitReached``,
    ``IdempotencyMismatch``. A refusal rolls back the caller's transaction (no savepoint).
    """
    with transaction.atomic(savepoint=False):
        wallets_lock([user.pk])
        receipt = receipt_for_request(user.pk, idempotency_key)
        existing = _existing(receipt, product_code=product_code)
        if existing is not None:
            return existing
        product = Product.objects.filter(code=product_code, is_active=True).first()
        if product is None:
            raise exceptions.ProductNotFound()
        if not rank_allows(user.rank, product.min_rank):
            raise exceptions.RankRequired()
        price = product_price(product, timezone.now())
        if product.kind == ProductKind.ITEM:
            play_allowed_check(user.pk)
            purchase = _purchase_create(
                receipt,
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
            return _transition(purchase, S.SUCCESS)  # created here, under the wallet lock
        purchase_allowed_check(user.pk, price, money_spent_today(user.pk))
        purchase = _purchase_create(
            receipt,
            user=user,
            flow=PurchaseFlow.GOLD_PACK,
            product=product,
            status=S.PENDING,
            price_cents=price,
            discount_cents=(product.price_cents or 0) - price,
            currency=product.currency,
            gold=product.gold_amount,
            gateway=gateway_get().name,
        )
        return _reserved(purchase)


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


def shop_buy_limited_reserve(
    user: User,
    package_code: str,
    promo_code: str | None = None,
    *,
    idempotency_key: str | None = None,
) -> Purchase:
    """Step 1 of a limited-package buy: hold one unit, apply a promo code, record it pending.

    Runs in the caller's transaction or opens one; wallet lock first, then the package row. The
    unit is held until the charge settles (``hold_expires_at``); a declined or expired charge
    returns the unit and the promo use. Raises ``ProductNotFound`` (404), ``SaleWindowClosed`` /
    ``RankRequired`` / ``PlayBlocked`` / ``PurchaseLimitReached`` (403), ``OutOfStock`` /
    ``PerUserLimitReached`` / ``PromoExhausted`` / ``PromoAlreadyUsed`` (409), ``PromoInvalid``
    (404), ``IdempotencyMismatch`` (422).
    """
    with transaction.atomic():
        wallets_lock([user.pk])
        receipt = receipt_for_request(user.pk, idempotency_key)
        existing = _existing(receipt, package_code=package_code)
        if existing is not None:
            return existing
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
            receipt,
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
            gateway=gateway_get().name,
        )
        return _reserved(purchase)


# ---------------------------------------------------------------- buying: charge and settle


@dataclass(frozen=True)
class ChargeOutcome:
    purchase: Purchase
    checkout_url: str = ""  # the provider's hosted page, while the purchase waits for it


def _description(purchase: Purchase) -> str:
    if purchase.product is not None:
        return purchase.product.name
    return purchase.package.name if purchase.package is not None else purchase.receipt


def purchase_charge(purchase_id: int, *, reserved: Purchase | None = None) -> ChargeOutcome:
    """Steps 2 and 3 of a buy: call the provider, then settle. Call it outside any transaction.

    A purchase the provider has not seen is charged with its receipt as the idempotency key, and
    the provider's reference is recorded at once on its own; one the provider already knows (a
    retry after a failure between the steps) is asked about with ``fetch``, never charged again.
    The answer settles the purchase in ``purchase_charge_settle``. Anything but a pending money
    purchase is returned as it is. Raises ``PaymentProviderUnavailable`` (503; retry is safe).
    ``reserved``: the purchase as the reserve step of this request returned it (with its product
    and package), which saves reading it again.
    """
    purchase = (
        reserved
        if reserved is not None and reserved.pk == purchase_id
        else Purchase.objects.select_related("product", "package").get(pk=purchase_id)
    )
    if purchase.status != S.PENDING or purchase.flow == PurchaseFlow.ITEM:
        return ChargeOutcome(purchase)
    gateway = gateway_by_name(purchase.gateway)
    if purchase.gateway_ref:
        result = gateway.fetch(gateway_ref=purchase.gateway_ref)
    else:
        result = gateway.charge(
            receipt=purchase.receipt,
            amount_cents=purchase.price_cents,
            currency=purchase.currency,
            description=_description(purchase),
            pay_by=purchase.created_at
            + timedelta(minutes=settings.PAYMENT_CHECKOUT_EXPIRY_MINUTES),
        )
        Purchase.objects.filter(pk=purchase.pk, gateway_ref="").update(
            gateway_ref=result.gateway_ref, updated_at=timezone.now()
        )
    settled = purchase_charge_settle(purchase.pk, result, user_id=purchase.user_id)
    return ChargeOutcome(settled, result.redirect_url if settled.status == S.PENDING else "")


def purchase_charge_settle(
    purchase_id: int, result: ChargeResult, *, user_id: int | None = None
) -> Purchase:
    """Step 3: apply the provider's answer in one short transaction. Idempotent.

    ``user_id``: the purchase's player, when the caller has read the purchase already."""
    with transaction.atomic():
        return _apply_charge(purchase_id, result, user_id)


def shop_buy(user: User, product_code: str, *, idempotency_key: str | None = None) -> Purchase:
    """Buy a catalog product: reserve, charge, settle. Call it outside any transaction."""
    purchase = shop_buy_reserve(user, product_code, idempotency_key=idempotency_key)
    return purchase_charge(purchase.pk, reserved=purchase).purchase


def shop_buy_limited(
    user: User,
    package_code: str,
    promo_code: str | None = None,
    *,
    idempotency_key: str | None = None,
) -> Purchase:
    """Buy a limited package: reserve, charge, settle. Call it outside any transaction."""
    purchase = shop_buy_limited_reserve(
        user, package_code, promo_code, idempotency_key=idempotency_key
    )
    return purchase_charge(purchase.pk, reserved=purchase).purchase


# ---------------------------------------------------------------- settlement


def purchase_settle(purchase: Purchase) -> Purchase:
    """Ask the provider about a pending purchase and apply the answer. Idempotent.

    Never charges: a purchase without a provider reference (the charge was never recorded) is
    returned as it is and expires. Call it outside any transaction.
    """
    if purchase.status != S.PENDING or not purchase.gateway_ref:
        return purchase
    result = gateway_by_name(purchase.gateway).fetch(gateway_ref=purchase.gateway_ref)
    return purchase_charge_settle(purchase.pk, result)


def purchases_settle_pending(*, now: datetime | None = None) -> dict[str, int]:
    """Settle pending purchases with their provider; expire those past their hold or max age.

    Safe to run twice or concurrently: each purchase is settled under its row lock by the state
    machine. A provider that cannot be reached leaves its purchases pending for the next run.
    Returns counts by resulting status.
    """
    now = now or timezone.now()
    counts = {"success": 0, "failed": 0, "pending": 0}
    max_age = timedelta(seconds=settings.SHOP_PENDING_MAX_AGE_SECONDS)
    pending = Purchase.objects.filter(status=S.PENDING).order_by("id").values_list("pk", flat=True)
    for purchase_id in list(pending):
        purchase = Purchase.objects.get(pk=purchase_id)
        try:
            settled = purchase_settle(purchase)
        except exceptions.PaymentProviderUnavailable:
            settled = purchase
        expired = (settled.hold_expires_at is not None and settled.hold_expires_at <= now) or (
            settled.created_at + max_age <= now
        )
        if settled.status == S.PENDING and expired:
            settled = purchase_transition(settled.pk, S.FAILED, reason="expired")
        counts[str(settled.status)] = counts.get(str(settled.status), 0) + 1
    return counts


# ---------------------------------------------------------------- refunds and chargebacks


def _items_take_back(purchase: Purchase) -> tuple[tuple[str, int], ...]:
    """Remove the purchase's items from the inventory, as many as the player still owns."""
    removed: dict[str, int] = {}
    for item in purchase.items:
        code, quantity = item["item_code"], int(item.get("quantity", 1))
        if quantity > 0:
            removed[code] = removed.get(code, 0) + inventory_remove(
                purchase.user_id, code, quantity
            )
    return tuple(sorted(removed.items()))


def _items_wanted(purchase: Purchase) -> tuple[tuple[str, int], ...]:
    wanted: dict[str, int] = {}
    for item in purchase.items:
        code, quantity = item["item_code"], int(item.get("quantity", 1))
        if quantity > 0:
            wanted[code] = wanted.get(code, 0) + quantity
    return tuple(sorted(wanted.items()))


def _other_purchases_at(purchase: Purchase) -> tuple[datetime, ...]:
    """When the player's other standing purchases settled (progression recomputes from them)."""
    times = (
        Purchase.objects.filter(user_id=purchase.user_id, status=S.SUCCESS)
        .exclude(pk=purchase.pk)
        .order_by("settled_at")
        .values_list("settled_at", flat=True)
    )
    return tuple(at for at in times if at is not None)


def _provider_refund_request(purchase: Purchase) -> None:
    """After commit: ask the provider to give the money back (at most once per receipt)."""
    from shop.tasks import purchase_provider_refund_task

    task_enqueue_after_commit(purchase_provider_refund_task, purchase.pk)


def purchase_reverse(
    purchase_id: int, *, kind: str, source: str, actor: User | None, reason: str
) -> Purchase:
    """Refund or charge back a successful purchase: take back everything it gave.

    ``kind`` is ``"refund"`` or ``"dispute"`` (a chargeback), ``source`` ``"staff"`` or
    ``"provider"`` (the payment provider's webhook; ``actor`` None). Effects, once, under the
    player's wallet lock and then the purchase's:

    - the gold it credited is taken back as far as the balance allows (a balance never goes
      negative; a shortfall adds ``gold_shortfall`` to ``review_reasons``);
    - its items are removed from the inventory, as many as the player still owns
      (``items_shortfall`` when some were gone);
    - ``purchase_reversed`` is sent: progression takes back the purchase count, the VIP points
      (the rank follows) and mission/event progress, and returns review reasons of its own;
    - ``refunded_at`` is set (``settled_at``, the sale's time, never changes); the purchase is
      audited and ``purchase_update`` is sent;
    - a staff refund of a money purchase asks the provider to refund after commit
      (``provider_refund_state`` requested → done/failed).

    Idempotent: a purchase already reversed is returned unchanged (a staff refund whose provider
    refund is still owed asks again). Raises ``PurchaseNotFound``, ``NotRefundable`` (gold-priced
    items: docs/decisions/0112-gold-priced-items-are-final.md), ``IllegalTransition`` (not a
    successful purchase), ``ReversalInvalid`` (bad kind/source, or a staff reversal without an
    actor or a reason). Runs in the caller's transaction (the webhook's) or opens one.
    """
    if kind not in ReversalKind.values or source not in ReversalSource.values:
        raise exceptions.ReversalInvalid(details={"kind": kind, "source": source})
    if source == ReversalSource.STAFF and (actor is None or not reason.strip()):
        raise exceptions.ReversalInvalid("A staff refund needs a staff member and a reason.")
    with transaction.atomic():
        user_id = Purchase.objects.filter(pk=purchase_id).values_list("user_id", flat=True).first()
        if user_id is None:
            raise exceptions.PurchaseNotFound()
        wallets_lock([user_id])  # the shop's lock order: wallet, then purchase
        purchase = Purchase.objects.select_for_update().get(pk=purchase_id)
        if purchase.status == S.REFUNDED:
            if purchase.provider_refund_state == ProviderRefundState.REQUESTED:
                _provider_refund_request(purchase)
            return purchase
        if purchase.flow == PurchaseFlow.ITEM:
            raise exceptions.NotRefundable()
        if purchase.status != S.SUCCESS:
            raise exceptions.IllegalTransition(details={"from": purchase.status, "to": S.REFUNDED})
        reasons: list[str] = []
        if _clawback(purchase) > 0:
            reasons.append(ReviewReason.GOLD_SHORTFALL)
        removed = _items_take_back(purchase)
        if removed != _items_wanted(purchase):
            reasons.append(ReviewReason.ITEMS_SHORTFALL)
        succeeded_at = purchase.settled_at or purchase.created_at
        domain_events.domain_event_record(
            domain_events.PurchaseReversed(
                user_id=purchase.user_id,
                receipt=purchase.receipt,
                flow=purchase.flow,
                kind=kind,
                price_cents=purchase.price_cents,
                price_gold=purchase.price_gold,
                items=_items_wanted(purchase),
                items_removed=removed,
                succeeded_at=succeeded_at,
                other_purchases_at=_other_purchases_at(purchase),
            ),
        )
        asks_provider = (
            kind == ReversalKind.REFUND
            and source == ReversalSource.STAFF
            and purchase.flow in (PurchaseFlow.GOLD_PACK, PurchaseFlow.LIMITED)
            and purchase.price_cents > 0
        )
        purchase.status = S.REFUNDED
        purchase.refunded_at = timezone.now()
        purchase.reversal_kind = kind
        purchase.reversal_source = source
        purchase.review_reasons = reasons
        purchase.needs_review = bool(reasons)
        if asks_provider:
            purchase.provider_refund_state = ProviderRefundState.REQUESTED
        purchase.save(
            update_fields=["status", "refunded_at", "reversal_kind", "reversal_source",
                           "review_reasons", "needs_review", "provider_refund_state", "updated_at"]
        )  # fmt: skip
        audit_log_record(
            actor=actor,
            action="purchase_refund" if kind == ReversalKind.REFUND else "purchase_dispute",
            target_user=purchase.user,
            target=purchase.receipt,
            before={"status": S.SUCCESS},
            after={
                "status": purchase.status,
                "source": source,
                "items_removed": [list(pair) for pair in removed],
                "review_reasons": reasons,
                "provider_refund": purchase.provider_refund_state,
            },
            reason=reason,
        )
        realtime_publish(purchase.user_id, "purchase_update", _message(purchase))
        _count(purchase, S.REFUNDED, kind)
        if asks_provider:
            _provider_refund_request(purchase)
        return purchase


def purchase_refund(purchase_id: int, *, actor: User, reason: str) -> Purchase:
    """Staff refund (the admin action): ``purchase_reverse`` with kind refund, source staff."""
    return purchase_reverse(
        purchase_id,
        kind=ReversalKind.REFUND,
        source=ReversalSource.STAFF,
        actor=actor,
        reason=reason,
    )


def purchase_provider_refund(purchase_id: int) -> str:
    """Ask the gateway to refund a reversed purchase's money; record the answer.

    Idempotent: the gateway's idempotency key is ``refund:<receipt>``, and a purchase whose state
    is not ``requested`` is left alone. Returns the resulting state. A gateway error leaves the
    state ``requested`` (the task retries; staff running the refund again asks again); a refusal
    marks it ``failed`` and flags the purchase for review.
    """
    purchase = Purchase.objects.filter(pk=purchase_id).first()
    if purchase is None or purchase.provider_refund_state != ProviderRefundState.REQUESTED:
        return purchase.provider_refund_state if purchase else ""
    result = gateway_by_name(purchase.gateway).refund(
        gateway_ref=purchase.gateway_ref or f"sim_{purchase.receipt}",
        amount_cents=purchase.price_cents,
        idempotency_key=f"refund:{purchase.receipt}",
    )
    with transaction.atomic():
        current = Purchase.objects.select_for_update().get(pk=purchase_id)
        if current.provider_refund_state != ProviderRefundState.REQUESTED:
            return current.provider_refund_state
        if result.succeeded:
            current.provider_refund_state = ProviderRefundState.DONE
            current.provider_refund_ref = result.refund_ref[:64]
        else:
            current.provider_refund_state = ProviderRefundState.FAILED
            _review_reason_add(current, ReviewReason.PROVIDER_REFUND_FAILED)
        current.save(
            update_fields=["provider_refund_state", "provider_refund_ref", "needs_review",
                           "review_reasons", "updated_at"]
        )  # fmt: skip
        return current.provider_refund_state


# ---------------------------------------------------------------- limited stock


def limited_package_stock_adjust(
    package_id: int, units: int, *, actor: User, reason: str
) -> LimitedPackage:
    """Add (``units`` > 0) or remove (< 0) units of a limited package, under its row lock.

    Total and remaining stock move together, so ``total - remaining`` (units sold or held) never
    changes here: sold units never come back and a removal cannot take more than what is left.
    Audited. Raises ``StockAdjustInvalid`` (0 units, no reason, or more removed than remain),
    ``ProductNotFound``.
    """
    if units == 0 or not reason.strip():
        raise exceptions.StockAdjustInvalid("Give a number of units other than 0 and a reason.")
    with transaction.atomic():
        package = LimitedPackage.objects.select_for_update().filter(pk=package_id).first()
        if package is None:
            raise exceptions.ProductNotFound()
        if package.remaining_stock + units < 0:
            raise exceptions.StockAdjustInvalid(
                "Cannot remove more units than remain.",
                details={"remaining_stock": package.remaining_stock, "units": units},
            )
        before = {"total_stock": package.total_stock, "remaining_stock": package.remaining_stock}
        LimitedPackage.objects.filter(pk=package_id).update(
            total_stock=F("total_stock") + units, remaining_stock=F("remaining_stock") + units
        )
        package.refresh_from_db(fields=["total_stock", "remaining_stock"])
        audit_log_record(
            actor=actor,
            action="limited_package_stock",
            target=f"limitedpackage:{package.pk} {package}",
            before=before,
            after={"total_stock": package.total_stock, "remaining_stock": package.remaining_stock},
            reason=reason,
        )
        return package


# ---------------------------------------------------------------- webhooks


# ---------------------------------------------------------------- provider events (webhooks)


def _event_purchase(event: PaymentEvent) -> Purchase | None:
    if event.receipt:
        return Purchase.objects.filter(receipt=event.receipt).first()
    if event.gateway_ref:
        return Purchase.objects.filter(gateway_ref=event.gateway_ref).first()
    return None


def _event_record(event: PaymentEvent, purchase: Purchase | None) -> bool:
    """Store the event once; False for a duplicate (same event id). ``WebhookReplayed`` (409)
    for a provider nonce already used by another event."""
    nonce = (event.nonce or event.event_id)[:64]
    if event.nonce and WebhookEvent.objects.filter(nonce=nonce).exists():
        raise exceptions.WebhookReplayed()
    try:
        with transaction.atomic():
            WebhookEvent.objects.create(
                event_id=event.event_id[:64],
                nonce=nonce,
                event_type=event.event_type[:64],
                purchase=purchase,
                payload=event.payload,
            )
    except IntegrityError:
        if event.nonce and WebhookEvent.objects.filter(nonce=nonce).exists():
            raise exceptions.WebhookReplayed() from None
        return False
    return True


@dataclass(frozen=True)
class _LateRefund:
    purchase_id: int
    gateway_ref: str
    amount_cents: int


def _late_payment(purchase: Purchase, event: PaymentEvent) -> tuple[str, _LateRefund | None]:
    """A payment for a purchase that already failed (its hold expired, or an earlier attempt was
    declined): credited if the stock allows, otherwise refunded at the provider (after commit);
    flagged for review either way. Runs in the event's transaction, the purchase locked."""
    if {ReviewReason.LATE_PAYMENT_REFUNDED, ReviewReason.LATE_PAYMENT_REFUND_FAILED} & set(
        purchase.review_reasons
    ):
        return "ignored", None  # a second event for the same late payment
    if event.gateway_ref:
        purchase.gateway_ref = event.gateway_ref
        purchase.save(update_fields=["gateway_ref", "updated_at"])
    try:
        with transaction.atomic():
            purchase_transition(
                purchase.pk, S.SUCCESS, review_reason=ReviewReason.LATE_PAYMENT_CREDITED
            )
        return "review", None
    except exceptions.OutOfStock:
        _flag(purchase, ReviewReason.LATE_PAYMENT_REFUNDED)
        amount = event.amount_cents if event.amount_cents is not None else purchase.price_cents
        return "review", _LateRefund(purchase.pk, purchase.gateway_ref, amount)


@transaction.atomic(durable=True)
def _payment_event_settle(event: PaymentEvent) -> tuple[str, _LateRefund | None]:
    purchase = _event_purchase(event)
    if not _event_record(event, purchase):
        return "duplicate", None
    if purchase is None or event.kind == PaymentEventKind.IGNORED:
        return "ignored", None
    current = _purchase_lock(purchase.pk)
    if event.kind == PaymentEventKind.PARTIALLY_REFUNDED:
        _flag(current, ReviewReason.PARTIAL_REFUND)
        return "review", None
    if event.kind == PaymentEventKind.FAILED:
        if current.status != S.PENDING:
            return "ignored", None  # settled already (by the job, the settle route, an event)
        purchase_transition(current.pk, S.FAILED, reason=(event.reason or "payment_failed")[:64])
        return "processed", None
    # SUCCEEDED
    if current.status in (S.SUCCESS, S.REFUNDED):
        return "ignored", None
    if _amount_differs(current, event.amount_cents, event.currency):
        logger.warning(
            "Payment %s for %s: paid %s %s, expected %s %s",
            event.event_id, current.receipt, event.amount_cents, event.currency,
            current.price_cents, current.currency,
        )  # fmt: skip
        if current.status == S.PENDING:
            purchase_transition(
                current.pk,
                S.FAILED,
                reason=ReviewReason.AMOUNT_MISMATCH,
                review_reason=ReviewReason.AMOUNT_MISMATCH,
            )
        else:
            _flag(current, ReviewReason.AMOUNT_MISMATCH)
        return "review", None
    if current.status == S.FAILED:
        return _late_payment(current, event)
    if event.gateway_ref:
        current.gateway_ref = event.gateway_ref
        current.save(update_fields=["gateway_ref", "updated_at"])
    purchase_transition(current.pk, S.SUCCESS)
    return "processed", None


def _late_refund(refund: _LateRefund) -> None:
    """Refund a late payment at its provider (no lock held); the outcome stays on the purchase."""
    purchase = Purchase.objects.get(pk=refund.purchase_id)
    try:
        result = gateway_by_name(purchase.gateway).refund(
            gateway_ref=refund.gateway_ref,
            amount_cents=refund.amount_cents,
            idempotency_key=f"late-payment-refund:{purchase.receipt}",
        )
        refunded = result.succeeded
    except exceptions.PaymentProviderUnavailable:
        refunded = False
    if not refunded:
        logger.error("Refund of the late payment for %s failed", purchase.receipt)
        with transaction.atomic():
            _flag(
                Purchase.objects.select_for_update().get(pk=purchase.pk),
                ReviewReason.LATE_PAYMENT_REFUND_FAILED,
            )


REVERSAL_KINDS = {PaymentEventKind.REFUNDED: "refund", PaymentEventKind.DISPUTED: "dispute"}


def _reversal_apply(event: PaymentEvent) -> str:
    """A refund or dispute reported by the provider: reversed once through ``purchase_reverse``
    (which refuses anything but a successful purchase), then the event is stored."""
    if WebhookEvent.objects.filter(event_id=event.event_id[:64]).exists():
        return "duplicate"
    purchase = _event_purchase(event)
    status = "ignored"
    if purchase is not None and purchase.status == S.SUCCESS:
        try:
            purchase_reverse(
                purchase.pk,
                kind=REVERSAL_KINDS[event.kind],
                source="provider",
                actor=None,
                reason=event.reason or event.event_type,
            )
            status = "processed"
        except exceptions.IllegalTransition:
            status = "ignored"  # reversed already (by staff, or a concurrent delivery)
    with transaction.atomic():
        if not _event_record(event, purchase):
            return "duplicate"
    return status


def payment_event_apply(event: PaymentEvent) -> str:
    """Apply a verified, normalised provider event at most once. Call it outside any transaction.

    Returns ``processed``, ``duplicate`` (this event id was applied before), ``ignored`` (no such
    purchase, or nothing left to do) or ``review`` (the purchase was flagged for staff: a paid
    amount or currency that differs, a late payment, a partial refund).
    """
    if event.kind in REVERSAL_KINDS:
        return _reversal_apply(event)
    status, late_refund = _payment_event_settle(event)
    if late_refund is not None:
        _late_refund(late_refund)
    return status


def webhook_events_purge(*, older_than: datetime) -> int:
    """Delete stored webhook events received before ``older_than``. Idempotent.

    Safe once an event is older than the signature's timestamp tolerance: a replay of it is
    refused by its timestamp before its id or nonce is looked up. The retention setting keeps
    them far longer, past any provider's retry window and for support questions."""
    deleted, _ = WebhookEvent.objects.filter(received_at__lt=older_than).delete()
    return deleted


def purchase_review_flag(receipt: str, reasons: list[str]) -> Purchase | None:
    """Add review reasons a projection found after a reversal (``purchase_review_flagged``).

    Locks the purchase; idempotent (a reason already on it is not added twice). Runs in the
    projection batch's transaction. Returns None for an unknown receipt.
    """
    purchase = Purchase.objects.select_for_update().filter(receipt=receipt).first()
    if purchase is None:
        return None
    for reason in reasons:
        _review_reason_add(purchase, reason)
    purchase.save(update_fields=["needs_review", "review_reasons", "updated_at"])
    return purchase
