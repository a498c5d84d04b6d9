"""The payment-gateway interface and the simulated gateway that ships with the product.

A real gateway implements ``PaymentGateway``; ``PAYMENT_GATEWAY`` (a dotted path) selects it. The
receipt is passed as the gateway's idempotency key, so charging the same purchase twice never
charges twice.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


class ChargeStatus(enum.StrEnum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    PENDING = "pending"


@dataclass(frozen=True)
class ChargeResult:
    status: ChargeStatus
    gateway_ref: str
    reason: str = ""


@dataclass(frozen=True)
class RefundResult:
    succeeded: bool
    refund_ref: str
    reason: str = ""


class PaymentGateway(Protocol):
    name: str

    def charge(self, *, receipt: str, amount_cents: int, currency: str) -> ChargeResult: ...

    def fetch(self, *, gateway_ref: str) -> ChargeResult: ...

    def refund(self, *, gateway_ref: str, amount_cents: int, idempotency_key: str) -> RefundResult:
        """Give ``amount_cents`` of payment ``gateway_ref`` back, at most once per key."""
        ...


class SimulatedGateway:
    """Succeeds, declines or stays pending, as ``PAYMENT_SIMULATOR`` says.

    ``PAYMENT_SIMULATOR = {"charge": "succeed" | "decline" | "pending",
    "pending_outcome": "pending" | "succeed" | "fail"}``; ``pending_outcome`` is what a later
    ``fetch`` (the settle route, the settlement job) reports for a pending charge.
    """

    name = "simulated"

    def charge(self, *, receipt: str, amount_cents: int, currency: str) -> ChargeResult:
        mode = settings.PAYMENT_SIMULATOR["charge"]
        ref = f"sim_{receipt}"
        if mode == "succeed":
            return ChargeResult(ChargeStatus.SUCCEEDED, ref)
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


def gateway_get() -> PaymentGateway:
    gateway: PaymentGateway = import_string(settings.PAYMENT_GATEWAY)()
    return gateway
