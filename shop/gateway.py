"""The payment-gateway interface, the registry of adapters and the simulated gateway.

A provider is one adapter class implementing ``PaymentGateway``: it charges (or opens a hosted
checkout), fetches a payment's state, refunds, and verifies and parses its own webhooks into
normalised ``PaymentEvent`` values. The purchase flow sees only ``ChargeResult`` and
``PaymentEvent``; adding a provider is one adapter, one entry in ``GATEWAYS`` and one webhook route.

``PAYMENT_GATEWAY`` (a dotted path) selects the adapter for new purchases; a purchase remembers
its gateway's ``name``, so it is fetched and refunded through the provider that charged it. The
receipt is passed as the provider's idempotency key, so charging the same purchase twice never
charges twice.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from casinoclub.jsonparse import json_loads_limited
from shop import exceptions


class ChargeStatus(enum.StrEnum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    PENDING = "pending"


@dataclass(frozen=True)
class ChargeResult:
    """A provider's answer about one payment.

    ``redirect_url``: the hosted checkout page the player completes a pending payment on.
    ``amount_cents`` / ``currency``: what the provider says was paid (None / "": not reported).
    """

    status: ChargeStatus
    gateway_ref: str
    reason: str = ""
    redirect_url: str = ""
    amount_cents: int | None = None
    currency: str = ""


@dataclass(frozen=True)
class RefundResult:
    succeeded: bool
    refund_ref: str
    reason: str = ""


class PaymentEventKind(enum.StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    DISPUTED = "disputed"
    IGNORED = "ignored"


@dataclass(frozen=True)
class PaymentEvent:
    """A provider's webhook event, verified and normalised by its adapter.

    ``receipt`` or ``gateway_ref`` (the provider's durable payment id) finds the purchase;
    ``nonce`` defaults to the event id (providers without a separate nonce).
    """

    event_id: str
    event_type: str
    kind: PaymentEventKind
    receipt: str = ""
    gateway_ref: str = ""
    amount_cents: int | None = None
    currency: str = ""
    reason: str = ""
    nonce: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


class PaymentGateway(Protocol):
    name: str

    def charge(
        self,
        *,
        receipt: str,
        amount_cents: int,
        currency: str,
        description: str = "",
        pay_by: datetime | None = None,
    ) -> ChargeResult:
        """Start (or complete) the payment; ``receipt`` is the provider's idempotency key.

        ``pay_by``: when a hosted checkout should stop accepting the payment. Every argument is
        derived from the purchase, so a retry sends the provider exactly the same request.
        """
        ...

    def fetch(self, *, gateway_ref: str) -> ChargeResult: ...

    def refund(self, *, gateway_ref: str, amount_cents: int, idempotency_key: str) -> RefundResult:
        """Give ``amount_cents`` of payment ``gateway_ref`` back, at most once per key."""
        ...

    def webhook_parse(self, *, body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        """Verify the provider's signature and normalise the event.

        Raises ``WebhookSignatureInvalid`` / ``WebhookStale`` (401), ``WebhookRejected`` (400).
        """
        ...


class SimulatedGateway:
    """Succeeds, declines or stays pending, as ``PAYMENT_SIMULATOR`` says. Development and tests.

    ``PAYMENT_SIMULATOR = {"charge": "succeed" | "decline" | "pending",
    "pending_outcome": "pending" | "succeed" | "fail"}``; ``pending_outcome`` is what a later
    ``fetch`` (the settle route, the settlement job) reports for a pending charge. Its webhook:
    ``X-Webhook-Signature`` = HMAC-SHA256(``PAYMENT_WEBHOOK_SECRET``, "{timestamp}.{nonce}.{body}").
    """

    name = "simulated"

    def charge(
        self,
        *,
        receipt: str,
        amount_cents: int,
        currency: str,
        description: str = "",
        pay_by: datetime | None = None,
    ) -> ChargeResult:
        mode = settings.PAYMENT_SIMULATOR["charge"]
        ref = f"sim_{receipt}"
        if mode == "succeed":
            return ChargeResult(ChargeStatus.SUCCEEDED, ref, amount_cents=amount_cents,
                                currency=currency)  # fmt: skip
        if mode == "decline":
            return ChargeResult(ChargeStatus.DECLINED, ref, "card_declined")
        return ChargeResult(ChargeStatus.PENDING, ref)

    def fetch(self, *, gateway_ref: str) -> ChargeResult:
        outcome = settings.PAYMENT_SIMULATOR["pending_outcome"]
        if outcome == "succeed":
            return ChargeResult(ChargeStatus.SUCCEEDED, gateway_ref)
        if outcome == "fail":
            return ChargeResult(ChargeStatus.DECLINED, gateway_ref, "payment_failed")
        return ChargeResult(ChargeStatus.PENDING, gateway_ref)

    def refund(self, *, gateway_ref: str, amount_cents: int, idempotency_key: str) -> RefundResult:
        return RefundResult(True, f"sim_refund_{idempotency_key}")

    def webhook_parse(self, *, body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        timestamp = headers.get("X-Webhook-Timestamp", "")
        nonce = headers.get("X-Webhook-Nonce", "")
        expected = hmac.new(
            settings.PAYMENT_WEBHOOK_SECRET.encode(),
            f"{timestamp}.{nonce}.".encode() + body,
            hashlib.sha256,
        ).hexdigest()
        if not hmac.compare_digest(expected, headers.get("X-Webhook-Signature", "")):
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
        kind = SIMULATED_EVENT_KINDS.get(str(payload.get("type")))
        receipt = payload.get("receipt")
        if kind is None or not isinstance(receipt, str):
            raise exceptions.WebhookRejected("Unknown event type or receipt.")
        amount = payload.get("amount")
        return PaymentEvent(
            event_id=payload["event_id"],
            event_type=str(payload["type"]),
            kind=kind,
            receipt=receipt,
            amount_cents=amount if isinstance(amount, int) else None,
            currency=str(payload.get("currency", "")).upper(),
            reason=str(payload.get("reason", "payment_failed")) if kind == "failed" else "",
            nonce=nonce,
            payload=payload,
        )


SIMULATED_EVENT_KINDS = {
    "payment.succeeded": PaymentEventKind.SUCCEEDED,
    "payment.failed": PaymentEventKind.FAILED,
}

# Every provider the product can talk to, by the name a purchase records.
GATEWAYS: dict[str, str] = {
    "simulated": "shop.gateway.SimulatedGateway",
    "stripe": "shop.stripe_gateway.StripeGateway",
}


def gateway_get() -> PaymentGateway:
    """The gateway new purchases are charged through (``PAYMENT_GATEWAY``)."""
    gateway: PaymentGateway = import_string(settings.PAYMENT_GATEWAY)()
    return gateway


def gateway_by_name(name: str) -> PaymentGateway:
    """The adapter that charged a purchase (its recorded ``gateway``); the configured one for ""."""
    if not name or import_string(settings.PAYMENT_GATEWAY).name == name:
        return gateway_get()
    if name not in GATEWAYS:
        raise exceptions.ProviderNotFound()
    gateway: PaymentGateway = import_string(GATEWAYS[name])()
    return gateway


def webhook_gateway(name: str) -> PaymentGateway:
    """The adapter whose webhook route was called. The simulated gateway's events are accepted
    only where it is the configured gateway (development, tests): ``ProviderNotFound`` elsewhere."""
    if name == SimulatedGateway.name and import_string(settings.PAYMENT_GATEWAY).name != name:
        raise exceptions.ProviderNotFound()
    return gateway_by_name(name)
