"""Real money: amounts are stored in the currency's ISO 4217 minor unit, shown per currency.

Every ``*_cents`` field holds **minor units** of its row's ``currency`` (the API keeps the field
names): 1/100 of a US dollar, but one whole won for KRW, which has no minor unit. So 1,200 KRW is
stored as ``1200`` and shown as "1,200 KRW", never "12.00". Staff type prices in the currency's
major unit ("1200" won, "12.99" dollars); ``major_to_minor`` converts, refusing digits the
currency does not have (docs/decisions/0172).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.conf import settings

# ISO 4217 currencies with no minor unit.
# fmt: off
ZERO_DECIMAL_CURRENCIES = frozenset({
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW",
    "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
})
# fmt: on
# ISO 4217 currencies with three minor digits.
THREE_DECIMAL_CURRENCIES = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})


def minor_digits(currency: str) -> int:
    """How many decimal digits the currency's minor unit has (KRW 0, USD 2, KWD 3)."""
    code = currency.upper()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def minor_to_major(amount: int, currency: str) -> Decimal:
    """``1299`` USD → ``Decimal("12.99")``; ``1200`` KRW → ``Decimal("1200")``."""
    return Decimal(amount).scaleb(-minor_digits(currency))


def major_to_minor(amount: Decimal | str | int, currency: str) -> int:
    """``"12.99"`` USD → ``1299``; ``"1200"`` KRW → ``1200``. Raises ``ValueError`` for a value
    with more decimals than the currency has (``"12.5"`` KRW) or that is not a number."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation as error:
        raise ValueError(f"{amount!r} is not an amount.") from error
    digits = minor_digits(currency)
    minor = value.scaleb(digits)
    if not value.is_finite() or minor != minor.to_integral_value():
        unit = "whole units (it has no minor unit)" if digits == 0 else f"at most {digits} decimals"
        raise ValueError(f"{currency.upper()} takes {unit}.")
    return int(minor)


def format_money(amount: int | None, currency: str) -> str:
    """Minor units for people: ``1,200 KRW``, ``12.99 USD``; empty for no amount."""
    if amount is None:
        return ""
    digits = minor_digits(currency)
    return f"{minor_to_major(amount, currency):,.{digits}f} {currency.upper()}"


def minor_unit_label(currency: str) -> str:
    """What one stored unit of ``currency`` is: "KRW (no minor unit)", "USD minor units (1/100)"."""
    digits = minor_digits(currency)
    if digits == 0:
        return f"{currency.upper()} (no minor unit)"
    return f"{currency.upper()} minor units (1/{10**digits})"


def currency_choices() -> list[tuple[str, str]]:
    """The currencies the shop sells in (``SHOP_CURRENCIES``), for staff forms."""
    return [(code, code) for code in settings.SHOP_CURRENCIES]
