"""Stripe, through the official library: a hosted Checkout Session per purchase.

- ``charge`` creates a Checkout Session with the purchase's receipt as Stripe's idempotency key
  (a repeated create returns the first session, never a second payment) and as the session's
  ``client_reference_id`` and metadata (also copied onto the PaymentIntent); the player pays on
  ``redirect_url`` and the purchase stays pending until a webhook or ``fetch`` settles it;
- ``fetch`` reads the session (``cs_…``) or, once paid, the PaymentIntent (``pi_…``) that replaced
  it as the purchase's ``gateway_ref``; a paid result always reports amount and currency;
- ``webhook_parse`` verifies ``Stripe-Signature`` with ``stripe.Webhook.construct_event`` and maps
  the events the purchase flow knows onto ``PaymentEvent``; any other event is ``IGNORED``.

Network and provider errors become ``PaymentProviderUnavailable`` (503): the purchase stays
pending and a retry with the same receipt is safe.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import stripe
from django.conf import settings

from casinoclub.jsonparse import json_depth_check
from shop import exceptions
from shop.gateway import ChargeResult, ChargeStatus, PaymentEvent, PaymentEventKind, RefundResult

logger = logging.getLogger(__name__)

PAID = frozenset({"paid", "no_payment_required"})


def _as_dict(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if isinstance(obj, stripe.StripeObject) else dict(obj)


def _receipt_of(obj: dict[str, Any]) -> str:
    metadata = obj.get("metadata") or {}
    return str(obj.get("client_reference_id") or metadata.get("receipt") or "")


def _session_result(session: dict[str, Any]) -> ChargeResult:
    if session.get("payment_status") in PAID:
        return ChargeResult(
            ChargeStatus.SUCCEEDED,
            str(session.get("payment_intent") or session["id"]),
            amount_cents=session.get("amount_total"),
            currency=str(session.get("currency") or "").upper(),
        )
    if session.get("status") == "expired":
        return ChargeResult(ChargeStatus.DECLINED, str(session["id"]), "expired")
    return ChargeResult(
        ChargeStatus.PENDING, str(session["id"]), redirect_url=session.get("url") or ""
    )


def _intent_result(intent: dict[str, Any]) -> ChargeResult:
    if intent.get("status") == "succeeded":
        return ChargeResult(
            ChargeStatus.SUCCEEDED,
            str(intent["id"]),
            amount_cents=intent.get("amount_received"),
            currency=str(intent.get("currency") or "").upper(),
        )
    if intent.get("status") == "canceled":
        return ChargeResult(ChargeStatus.DECLINED, str(intent["id"]), "canceled")
    return ChargeResult(ChargeStatus.PENDING, str(intent["id"]))


def _failure_reason(intent: dict[str, Any]) -> str:
    error = intent.get("last_payment_error") or {}
    return str(error.get("decline_code") or error.get("code") or "payment_failed")[:64]


class StripeGateway:
    name = "stripe"

    def _client(self) -> stripe.StripeClient:
        if not settings.STRIPE_SECRET_KEY:
            logger.error("STRIPE_SECRET_KEY is not set: cannot reach Stripe")
            raise exceptions.PaymentProviderUnavailable()
        return stripe.StripeClient(
            settings.STRIPE_SECRET_KEY,
            base_addresses={"api": settings.STRIPE_API_BASE},
            max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
        )

    def _call(self, action: str, call: Any) -> dict[str, Any]:
        try:
            return _as_dict(call())
        except stripe.StripeError as error:
            logger.warning("Stripe %s failed: %s", action, error)
            raise exceptions.PaymentProviderUnavailable() from error

    def charge(
        self,
        *,
        receipt: str,
        amount_cents: int,
        currency: str,
        description: str = "",
        pay_by: datetime | None = None,
    ) -> ChargeResult:
        params: dict[str, Any] = {
            "mode": "payment",
            "client_reference_id": receipt,
            "metadata": {"receipt": receipt},
            "payment_intent_data": {"metadata": {"receipt": receipt}},
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": amount_cents,
                        "product_data": {"name": description or receipt},
                    },
                }
            ],
            "success_url": settings.PAYMENT_SUCCESS_URL.replace("{receipt}", receipt),
            "cancel_url": settings.PAYMENT_CANCEL_URL.replace("{receipt}", receipt),
        }
        if pay_by is not None:  # Stripe accepts 30 minutes to 24 hours after the session's creation
            params["expires_at"] = int(pay_by.timestamp())
        client = self._client()
        session = self._call(
            "checkout session create",
            lambda: client.v1.checkout.sessions.create(
                params=params,  # type: ignore[arg-type]  # a plain dict of the documented params
                options={"idempotency_key": receipt},
            ),
        )
        return _session_result(session)

    def fetch(self, *, gateway_ref: str) -> ChargeResult:
        client = self._client()
        if gateway_ref.startswith("pi_"):
            intent = self._call(
                "payment intent retrieve", lambda: client.v1.payment_intents.retrieve(gateway_ref)
            )
            return _intent_result(intent)
        session = self._call(
            "checkout session retrieve", lambda: client.v1.checkout.sessions.retrieve(gateway_ref)
        )
        return _session_result(session)

    def refund(self, *, gateway_ref: str, amount_cents: int, idempotency_key: str) -> RefundResult:
        client = self._client()
        intent = gateway_ref
        if gateway_ref.startswith("cs_"):
            session = self._call(
                "checkout session retrieve",
                lambda: client.v1.checkout.sessions.retrieve(gateway_ref),
            )
            intent = str(session.get("payment_intent") or "")
        if not intent:
            return RefundResult(False, "", "no_payment")
        refund = self._call(
            "refund create",
            lambda: client.v1.refunds.create(
                params={"payment_intent": intent, "amount": amount_cents},
                options={"idempotency_key": idempotency_key},
            ),
        )
        succeeded = refund.get("status") in ("succeeded", "pending")
        return RefundResult(
            succeeded, str(refund["id"]), "" if succeeded else str(refund.get("status"))
        )

    def webhook_parse(self, *, body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        secret = settings.STRIPE_WEBHOOK_SECRET
        if not secret:
            raise exceptions.WebhookSignatureInvalid()
        try:
            text = body.decode()
            json_depth_check(text)  # before the library parses it: too deep is 400 invalid_json
            stripe.Webhook.construct_event(
                text,
                headers.get("Stripe-Signature", ""),
                secret,
                tolerance=settings.PAYMENT_WEBHOOK_TOLERANCE_SECONDS,
            )
            event = json.loads(text)
        except stripe.SignatureVerificationError as error:
            raise exceptions.WebhookSignatureInvalid() from error
        except ValueError as error:  # not UTF-8 or not JSON
            raise exceptions.WebhookRejected("The body is not a Stripe event.") from error
        if not isinstance(event, dict) or not isinstance(event.get("id"), str):
            raise exceptions.WebhookRejected("The body is not a Stripe event.")
        event_type = str(event.get("type", ""))
        obj = (event.get("data") or {}).get("object") or {}
        if not isinstance(obj, dict):
            raise exceptions.WebhookRejected("The body is not a Stripe event.")
        base: dict[str, Any] = {"event_id": event["id"], "event_type": event_type, "payload": event}
        return _normalise(event_type, obj, base)


def _normalise(event_type: str, obj: dict[str, Any], base: dict[str, Any]) -> PaymentEvent:
    kind = PaymentEventKind
    currency = str(obj.get("currency") or "").upper()
    if event_type in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        if obj.get("payment_status") not in PAID:  # a delayed method: wait for its own event
            return PaymentEvent(kind=kind.IGNORED, receipt=_receipt_of(obj), **base)
        return PaymentEvent(
            kind=kind.SUCCEEDED,
            receipt=_receipt_of(obj),
            gateway_ref=str(obj.get("payment_intent") or obj.get("id") or ""),
            amount_cents=obj.get("amount_total"),
            currency=currency,
            **base,
        )
    if event_type in ("checkout.session.expired", "checkout.session.async_payment_failed"):
        reason = "expired" if event_type.endswith("expired") else "payment_failed"
        return PaymentEvent(kind=kind.FAILED, receipt=_receipt_of(obj), reason=reason, **base)
    if event_type == "payment_intent.succeeded":
        return PaymentEvent(
            kind=kind.SUCCEEDED,
            receipt=_receipt_of(obj),
            gateway_ref=str(obj.get("id", "")),
            amount_cents=obj.get("amount_received"),
            currency=currency,
            **base,
        )
    if event_type == "payment_intent.payment_failed":
        return PaymentEvent(
            kind=kind.FAILED,
            receipt=_receipt_of(obj),
            gateway_ref=str(obj.get("id", "")),
            reason=_failure_reason(obj),
            **base,
        )
    if event_type == "charge.refunded":
        return PaymentEvent(
            kind=kind.REFUNDED if obj.get("refunded") else kind.PARTIALLY_REFUNDED,
            receipt=_receipt_of(obj),
            gateway_ref=str(obj.get("payment_intent") or ""),
            amount_cents=obj.get("amount_refunded"),
            currency=currency,
            reason="refunded at the provider",
            **base,
        )
    if event_type == "charge.dispute.created":
        return PaymentEvent(
            kind=kind.DISPUTED,
            gateway_ref=str(obj.get("payment_intent") or ""),
            amount_cents=obj.get("amount"),
            currency=currency,
            reason=f"dispute: {obj.get('reason') or 'unknown'}",
            **base,
        )
    return PaymentEvent(kind=kind.IGNORED, **base)
