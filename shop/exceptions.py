"""Shop failures, each with a stable code."""

from rest_framework import status

from casinoclub.errors import ApplicationError


class ProductNotFound(ApplicationError):
    code = "not_found"
    status_code = status.HTTP_404_NOT_FOUND
    message = "No such product."


class RankRequired(ApplicationError):
    code = "rank_required"
    status_code = status.HTTP_403_FORBIDDEN
    message = "Your rank cannot buy this yet."


class SaleWindowClosed(ApplicationError):
    code = "window_closed"
    status_code = status.HTTP_403_FORBIDDEN
    message = "This package is not on sale now."


class OutOfStock(ApplicationError):
    code = "out_of_stock"
    status_code = status.HTTP_409_CONFLICT
    message = "Sold out."


class PerUserLimitReached(ApplicationError):
    code = "per_user_limit"
    status_code = status.HTTP_409_CONFLICT
    message = "You already bought as many as allowed."


class PromoInvalid(ApplicationError):
    code = "promo_invalid"
    status_code = status.HTTP_404_NOT_FOUND
    message = "This promo code does not exist or has expired."


class PromoExhausted(ApplicationError):
    code = "promo_exhausted"
    status_code = status.HTTP_409_CONFLICT
    message = "This promo code has no uses left."


class PromoAlreadyUsed(ApplicationError):
    code = "promo_already_used"
    status_code = status.HTTP_409_CONFLICT
    message = "You already used this promo code."


class IllegalTransition(ApplicationError):
    code = "illegal_transition"
    status_code = status.HTTP_409_CONFLICT
    message = "The purchase cannot change to that state."


class PurchaseNotFound(ApplicationError):
    code = "not_found"
    status_code = status.HTTP_404_NOT_FOUND
    message = "No such purchase."


class WebhookRejected(ApplicationError):
    code = "webhook_rejected"
    status_code: int = status.HTTP_400_BAD_REQUEST
    message = "The webhook could not be verified."


class WebhookSignatureInvalid(WebhookRejected):
    code = "invalid_signature"
    status_code = status.HTTP_401_UNAUTHORIZED
    message = "The webhook signature is not valid."


class WebhookStale(WebhookRejected):
    code = "stale_timestamp"
    status_code = status.HTTP_401_UNAUTHORIZED
    message = "The webhook timestamp is outside the allowed window."


class WebhookReplayed(WebhookRejected):
    code = "replayed_nonce"
    status_code = status.HTTP_409_CONFLICT
    message = "This webhook nonce was already used."


class NotRefundable(ApplicationError):
    code = "not_refundable"
    status_code = status.HTTP_409_CONFLICT
    message = "Gold-priced item purchases are final and cannot be refunded."


class ReversalInvalid(ApplicationError):
    code = "reversal_invalid"
    status_code = status.HTTP_400_BAD_REQUEST
    message = "A reversal needs a kind (refund or dispute) and a source (staff or provider)."


class StockAdjustInvalid(ApplicationError):
    code = "stock_adjust_invalid"
    status_code = status.HTTP_409_CONFLICT
    message = "The stock cannot change that way."


class ProviderNotFound(ApplicationError):
    code = "not_found"
    status_code = status.HTTP_404_NOT_FOUND
    message = "No such payment provider."


class PaymentProviderUnavailable(ApplicationError):
    code = "payment_provider_unavailable"
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    message = "The payment provider could not be reached. Try again with the same key."
