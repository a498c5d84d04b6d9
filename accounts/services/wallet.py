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
  the same statement, delivered after commit (``casinoclub.realtime``); a round's stake and payout
  (``wallet_settle_round``) store one ``profile_update`` with the final balance;
- one round trip per change: the key check, the lock, the entry, the balance and the messages are
  one statement, which writes all of it or nothing (a refusal needs no savepoint).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from accounts import exceptions, metrics
from accounts.models import LedgerEntry, LedgerReason, User, Wallet
from casinoclub.idempotency import IdempotencyInProgress
from casinoclub.realtime.messages import ProfileUpdateData, RewardGrantedData, StoredMessageType
from casinoclub.realtime.services import realtime_publish_sql, realtime_published

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

# One round trip per entry: the key applied before (then nothing changes), the wallet's row lock
# and balance, the entry (ON CONFLICT: a concurrent twin of the key that committed first shows as
# no row, and then nothing is written), the balance, and the entry's socket messages. The entry is
# inserted only when the new balance is >= 0 and the balance moves only with its entry, so a
# refusal writes nothing and needs no savepoint.
_APPLY_SQL = (
    "WITH found AS (SELECT id, wallet_id, delta, balance_after, reason, reference,"
    " idempotency_key, created_at FROM accounts_ledgerentry"
    " WHERE wallet_id = %s AND idempotency_key = %s),"
    " locked AS (SELECT balance FROM accounts_wallet"
    " WHERE user_id = %s AND NOT EXISTS (SELECT 1 FROM found) FOR UPDATE),"
    " ledger AS (INSERT INTO accounts_ledgerentry"
    " (wallet_id, delta, balance_after, reason, reference, idempotency_key, created_at)"
    " SELECT %s, %s, locked.balance + %s, %s, %s, %s, %s FROM locked"
    " WHERE locked.balance + %s >= 0"
    " ON CONFLICT (wallet_id, idempotency_key) DO NOTHING RETURNING id, balance_after),"
    " moved AS (UPDATE accounts_wallet SET balance = ledger.balance_after, updated_at = now()"
    " FROM ledger WHERE accounts_wallet.user_id = %s RETURNING accounts_wallet.balance),"
    " {messages}"
    " SELECT found.id, found.wallet_id, found.delta, found.balance_after, found.reason,"
    " found.reference, found.idempotency_key, found.created_at,"
    " (SELECT balance FROM locked), (SELECT id FROM ledger), (SELECT balance FROM moved),"
    " (SELECT last_seq FROM realtime_next)"
    " FROM (SELECT 1) AS one LEFT JOIN found ON true"
)
_PROFILE_DATA_SQL = (
    "%s::jsonb || jsonb_build_object('gold', ledger.balance_after, 'ledger_entry_id', ledger.id)"
)
_REWARD_DATA_SQL = (
    "%s::jsonb || jsonb_build_object('balance', ledger.balance_after, 'ledger_entry_id', ledger.id)"
)


def _apply(
    user_id: int, delta: int, *, reason: LedgerReason, reference: str, idempotency_key: str
) -> LedgerEntry:
    """Must run inside a transaction; one statement, which writes everything or nothing."""
    if not isinstance(delta, int) or delta == 0 or abs(delta) > MAX_AMOUNT:
        raise exceptions.InvalidAmount()
    created_at = timezone.now()
    messages: list[tuple[StoredMessageType, str, list[Any]]] = [
        (
            "profile_update",
            _PROFILE_DATA_SQL,
            [json.dumps({"delta": delta, "reason": str(reason), "reference": reference})],
        )
    ]
    if delta > 0:
        reward = {"gold": delta, "reason": str(reason), "reference": reference}
        messages.append(("reward_granted", _REWARD_DATA_SQL, [json.dumps(reward)]))
    messages_sql, messages_params = realtime_publish_sql(
        user_id, messages, source="ledger", created_at=created_at
    )
    with connection.cursor() as cursor:
        cursor.execute(
            _APPLY_SQL.format(messages=messages_sql),
            [
                user_id, idempotency_key,
                user_id,
                user_id, delta, delta, reason, reference, idempotency_key, created_at, delta,
                user_id,
                *messages_params,
            ],
        )  # fmt: skip
        row = cursor.fetchone()
    assert row is not None
    if row[0] is not None:  # applied before: the first entry, nothing changed
        return LedgerEntry.from_db(None, _LEDGER_FIELDS, row[:8])
    locked_balance, entry_id, balance, last_seq = row[8:]
    if locked_balance is None:  # no wallet yet
        if not User.objects.filter(pk=user_id).exists():
            raise exceptions.UserNotFound()
        Wallet.objects.get_or_create(user_id=user_id)
        return _apply(
            user_id, delta, reason=reason, reference=reference, idempotency_key=idempotency_key
        )
    if entry_id is None:
        if locked_balance + delta < 0:
            raise exceptions.InsufficientFunds()
        # The same key was applied concurrently and committed first: nothing was written.
        raise IdempotencyInProgress()
    entry = LedgerEntry(
        pk=entry_id,
        wallet_id=user_id,
        delta=delta,
        balance_after=balance,
        reason=reason,
        reference=reference,
        idempotency_key=idempotency_key,
        created_at=created_at,
    )
    profile: ProfileUpdateData = {
        "gold": balance,
        "delta": delta,
        "reason": str(reason),
        "reference": reference,
        "ledger_entry_id": entry_id,
    }
    published: list[tuple[StoredMessageType, Mapping[str, Any]]] = [("profile_update", profile)]
    if delta > 0:
        granted: RewardGrantedData = {
            "gold": delta,
            "balance": balance,
            "reason": str(reason),
            "reference": reference,
            "ledger_entry_id": entry_id,
        }
        published.append(("reward_granted", granted))
    realtime_published(user_id, published, last_seq=last_seq, created_at=created_at)
    _count_after_commit([str(reason)])
    return entry


def _count_after_commit(reasons: list[str]) -> None:
    def count() -> None:
        for reason in reasons:
            metrics.ledger_entries_total.labels(reason=reason).inc()

    transaction.on_commit(count)


class RowInsert(NamedTuple):
    """A row another app writes together with a wallet change, in its statement
    (``wallet_settle_round``): ``INSERT INTO {target} SELECT {values}``, only when the change is
    made. ``values`` is an SQL select list with ``%s`` placeholders for ``params``; it may read
    ``moved.balance`` (the wallet's new balance)."""

    target: str
    values: str
    params: Sequence[Any]


@dataclass(frozen=True)
class RoundSettlement:
    balance: int  # the wallet's balance after the stake and the payout
    entry_ids: list[int]  # the stake's entry, then the payout's if any


_SETTLE_SQL = (
    "WITH locked AS (SELECT balance FROM accounts_wallet WHERE user_id = %s FOR UPDATE),"
    " ledger AS (INSERT INTO accounts_ledgerentry"
    " (wallet_id, delta, balance_after, reason, reference, idempotency_key, created_at)"
    " SELECT %s, entry.delta, locked.balance + entry.running, entry.reason, entry.reference,"
    " entry.idempotency_key, %s FROM locked,"
    " (VALUES {entries}) AS entry(position, delta, running, reason, reference, idempotency_key)"
    " WHERE locked.balance >= %s ORDER BY entry.position"
    " ON CONFLICT (wallet_id, idempotency_key) DO NOTHING RETURNING id),"
    " moved AS (UPDATE accounts_wallet SET balance = locked.balance + %s, updated_at = now()"
    " FROM locked WHERE accounts_wallet.user_id = %s AND (SELECT count(*) FROM ledger) = %s"
    " RETURNING accounts_wallet.balance),"
    " {messages}{rows}"
    " SELECT (SELECT balance FROM locked), (SELECT array_agg(id ORDER BY id) FROM ledger),"
    " (SELECT balance FROM moved), (SELECT last_seq FROM realtime_next)"
)
_ROUND_PROFILE_DATA_SQL = (
    "%s::jsonb || jsonb_build_object('gold', moved.balance,"
    " 'ledger_entry_id', (SELECT max(id) FROM ledger))"
)


def wallet_settle_round(
    user_id: int,
    *,
    stake: int,
    payout: int,
    stake_reason: LedgerReason,
    stake_reference: str,
    stake_key: str,
    payout_reason: LedgerReason,
    payout_reference: str,
    payout_key: str,
    rows: Sequence[RowInsert] = (),
    messages: Sequence[tuple[StoredMessageType, Mapping[str, Any]]] = (),
) -> RoundSettlement:
    """Take ``stake`` (> 0) and pay ``payout`` (>= 0) as one change, in ONE statement: the
    wallet's row lock, one ledger entry each (the payout's only when > 0), the balance, ``rows``
    (the round, its event), and the socket messages: one ``profile_update`` with the final
    balance, then ``messages`` (the round's). Must run inside the round's transaction.

    Raises ``InsufficientFunds`` when the balance is below the stake (nothing is written; no
    wallet counts as 0 gold) and ``IdempotencyInProgress`` when a key was already used (the
    caller's transaction is rolled back: its block is marked for rollback). Not idempotent by
    itself: the keys refuse a second settlement.
    """
    for amount in (stake, payout):
        if not isinstance(amount, int) or isinstance(amount, bool) or amount > MAX_AMOUNT:
            raise exceptions.InvalidAmount()
    if stake <= 0 or payout < 0:
        raise exceptions.InvalidAmount()
    created_at = timezone.now()
    entries: list[list[Any]] = [[1, -stake, -stake, stake_reason, stake_reference, stake_key]]
    if payout > 0:
        entries.append([2, payout, payout - stake, payout_reason, payout_reference, payout_key])
    net = payout - stake
    last_reason, last_reference = (
        (payout_reason, payout_reference) if payout > 0 else (stake_reason, stake_reference)
    )
    profile_known = {"delta": net, "reason": str(last_reason), "reference": last_reference}
    stored: list[tuple[StoredMessageType, str, list[Any]]] = [
        ("profile_update", _ROUND_PROFILE_DATA_SQL, [json.dumps(profile_known)])
    ]
    stored.extend(
        (message_type, "%s::jsonb", [json.dumps(data, cls=DjangoJSONEncoder)])
        for message_type, data in messages
    )
    with transaction.atomic(savepoint=False):
        messages_sql, messages_params = realtime_publish_sql(
            user_id, stored, source="moved", created_at=created_at
        )
        rows_sql = "".join(
            # the callers' SQL constants; every value is a parameter
            f", row_{index} AS (INSERT INTO {row.target} SELECT {row.values} FROM moved)"  # noqa: S608
            for index, row in enumerate(rows)
        )
        sql = _SETTLE_SQL.format(
            entries=", ".join("(%s, %s::bigint, %s::bigint, %s, %s, %s)" for _ in entries),
            messages=messages_sql,
            rows=rows_sql,
        )
        params: list[Any] = [user_id, user_id, created_at]
        for entry in entries:
            params.extend(entry)
        params.extend([stake, net, user_id, len(entries), *messages_params])
        for row in rows:
            params.extend(row.params)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            result = cursor.fetchone()
        assert result is not None
        locked_balance, entry_ids, balance, last_seq = result
        if locked_balance is None or locked_balance < stake:
            raise exceptions.InsufficientFunds()
        if balance is None:
            raise IdempotencyInProgress()
    profile: ProfileUpdateData = {
        "gold": balance,
        "delta": net,
        "reason": str(last_reason),
        "reference": last_reference,
        "ledger_entry_id": max(entry_ids),
    }
    realtime_published(
        user_id, [("profile_update", profile), *messages], last_seq=last_seq, created_at=created_at
    )
    _count_after_commit([str(entry[3]) for entry in entries])
    return RoundSettlement(balance=balance, entry_ids=list(entry_ids))


def wallet_credit(
    user_id: int, amount: int, *, reason: LedgerReason, reference: str, idempotency_key: str
) -> LedgerEntry:
    """Add ``amount`` (> 0) gold. Runs in the caller's transaction or opens one.

    Idempotent per (wallet, idempotency_key). Raises ``InvalidAmount``, ``UserNotFound``.
    """
    if not isinstance(amount, int) or amount <= 0:
        raise exceptions.InvalidAmount()
    if connection.in_atomic_block:  # one statement that writes all or nothing: no savepoint
        return _apply(
            user_id, amount, reason=reason, reference=reference, idempotency_key=idempotency_key
        )
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
    if connection.in_atomic_block:  # one statement that writes all or nothing: no savepoint
        return _apply(
            user_id, -amount, reason=reason, reference=reference, idempotency_key=idempotency_key
        )
    with transaction.atomic():
        return _apply(
            user_id, -amount, reason=reason, reference=reference, idempotency_key=idempotency_key
        )
