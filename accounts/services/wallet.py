"""Gold: the only code that changes a wallet balance.

Invariants:
- a balance changes only together with one appended ``LedgerEntry`` (delta, balance_after, reason,
  reference, idempotency key), in the same transaction;
- a balance never goes negative: one conditional ``UPDATE … WHERE balance + delta >= 0``
  (the row lock it takes serialises concurrent changes), backed by ``CHECK (balance >= 0)``;
- an idempotency key is used at most once per wallet (unique constraint): applying the same key
  again returns the first entry and changes nothing;
- several wallets are always locked in primary-key order (``wallets_lock``), so two transactions
  can never deadlock;
- ledger entries are never updated or deleted (a database trigger refuses it); a correction is a
  new entry;
- every entry stores a ``profile_update`` socket message (and a credit also ``reward_granted``) in
  the same transaction, delivered after commit (``casinoclub.realtime``).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction
from django.utils import timezone

from accounts import exceptions, metrics
from accounts.models import LedgerEntry, LedgerReason, User, Wallet
from casinoclub.idempotency import IdempotencyInProgress
from casinoclub.realtime.messages import ProfileUpdateData, RewardGrantedData
from casinoclub.realtime.services import realtime_publish

MAX_AMOUNT = 10**12


def wallet_open(user: User) -> Wallet:
    """Create the user's empty wallet if it does not exist. Idempotent."""
    wallet, _ = Wallet.objects.get_or_create(user=user)
    return wallet


def wallets_lock(user_ids: Iterable[int]) -> list[int]:
    """Lock several wallets in primary-key order. Must run inside a transaction.

    Returns the ids of the wallets that exist (and are now locked), ascending.
    """
    with connection.cursor() as cursor:  # on every round's path: plain SQL, no ORM query
        cursor.execute(
            "SELECT user_id FROM accounts_wallet WHERE user_id = ANY(%s)"
            " ORDER BY user_id FOR UPDATE",
            [sorted(set(user_ids))],
        )
        return [row[0] for row in cursor.fetchall()]


_LEDGER_FIELDS = [
    "id", "wallet_id", "delta", "balance_after", "reason", "reference", "idempotency_key",
    "created_at",
]  # fmt: skip
# No savepoint per entry: a concurrent twin of the key shows as no row returned.
_LEDGER_INSERT_SQL = (
    "INSERT INTO accounts_ledgerentry"
    " (wallet_id, delta, balance_after, reason, reference, idempotency_key, created_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (wallet_id, idempotency_key) DO NOTHING RETURNING id"
)


def _apply(
    user_id: int, delta: int, *, reason: LedgerReason, reference: str, idempotency_key: str
) -> LedgerEntry:
    if not isinstance(delta, int) or delta == 0 or abs(delta) > MAX_AMOUNT:
        raise exceptions.InvalidAmount()
    with connection.cursor() as cursor:  # the key applied before? (every entry asks)
        cursor.execute(
            "SELECT id, wallet_id, delta, balance_after, reason, reference, idempotency_key,"
            " created_at FROM accounts_ledgerentry WHERE wallet_id = %s AND idempotency_key = %s",
            [user_id, idempotency_key],
        )
        found = cursor.fetchone()
    if found is not None:
        return LedgerEntry.from_db(None, _LEDGER_FIELDS, found)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_wallet SET balance = balance + %s, updated_at = now()"
            " WHERE user_id = %s AND balance + %s >= 0 RETURNING balance",
            [delta, user_id, delta],
        )
        row = cursor.fetchone()
    if row is None:
        if not Wallet.objects.filter(pk=user_id).exists():
            if not User.objects.filter(pk=user_id).exists():
                raise exceptions.UserNotFound()
            Wallet.objects.get_or_create(user_id=user_id)
            return _apply(
                user_id, delta, reason=reason, reference=reference, idempotency_key=idempotency_key
            )
        raise exceptions.InsufficientFunds()
    entry = LedgerEntry(
        wallet_id=user_id,
        delta=delta,
        balance_after=row[0],
        reason=reason,
        reference=reference,
        idempotency_key=idempotency_key,
        created_at=timezone.now(),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            _LEDGER_INSERT_SQL,
            [user_id, delta, row[0], reason, reference, idempotency_key, entry.created_at],
        )
        inserted = cursor.fetchone()
    if inserted is None:
        # The same key was applied concurrently and committed first: this change must not
        # happen. Raising rolls the balance update back with the caller's atomic block.
        raise IdempotencyInProgress()
    entry.pk = inserted[0]
    _publish(entry)
    return entry


def _publish(entry: LedgerEntry) -> None:
    profile: ProfileUpdateData = {
        "gold": entry.balance_after,
        "delta": entry.delta,
        "reason": entry.reason,
        "reference": entry.reference,
        "ledger_entry_id": entry.pk,
    }
    realtime_publish(entry.wallet_id, "profile_update", profile)
    if entry.delta > 0:
        reward: RewardGrantedData = {
            "gold": entry.delta,
            "balance": entry.balance_after,
            "reason": entry.reason,
            "reference": entry.reference,
            "ledger_entry_id": entry.pk,
        }
        realtime_publish(entry.wallet_id, "reward_granted", reward)
    reason = str(entry.reason)
    transaction.on_commit(lambda: metrics.ledger_entries_total.labels(reason=reason).inc())


def wallet_credit(
    user_id: int, amount: int, *, reason: LedgerReason, reference: str, idempotency_key: str
) -> LedgerEntry:
    """Add ``amount`` (> 0) gold. Runs in the caller's transaction or opens one.

    Idempotent per (wallet, idempotency_key). Raises ``InvalidAmount``, ``UserNotFound``.
    """
    if not isinstance(amount, int) or amount <= 0:
        raise exceptions.InvalidAmount()
    with transaction.atomic():
        return _apply(
            user_id, amount, reason=reason, reference=reference, idempotency_key=idempotency_key
        )


def wallet_debit(
    user_id: int, amount: int, *, reason: LedgerReason, reference: str, idempotency_key: str
) -> LedgerEntry:
    """Take ``amount`` (> 0) gold. Runs in the caller's transaction or opens one.

    Idempotent per (wallet, idempotency_key). Raises ``InsufficientFunds`` (the balance is left
    unchanged), ``InvalidAmount``, ``UserNotFound``.
    """
    if not isinstance(amount, int) or amount <= 0:
        raise exceptions.InvalidAmount()
    with transaction.atomic():
        return _apply(
            user_id, -amount, reason=reason, reference=reference, idempotency_key=idempotency_key
        )
