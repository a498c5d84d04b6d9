"""Game rounds: bet, outcome, payout, record, stats — each round in one transaction.

Invariants:
- a round's bet debit, payout credit, round row, daily count, event-log row and socket messages
  commit together or not at all (HTTP callers run inside ``run_idempotent``); stats, leaderboards
  and progression are projections of the event log, applied after commit;
- an instant round (slot, rps) is two statements: its checks and claims
  (``_instant_round_begin``), then, once the outcome is drawn, its money, round, event and two
  messages (``accounts.services.wallet_settle_round``; docs/decisions/0141);
- a round's outcome comes only from the player's committed seed pair: ``FairRng(server_seed,
  client_seed, nonce)``; the nonce is taken by one ``UPDATE … nonce = nonce + 1 RETURNING`` on the
  active seed, and (seed, nonce) is unique, so no outcome is ever drawn twice;
- locks are taken in one order in every round (daily counter, seed, stats, wallet: all rows of the
  player's own), so rounds cannot deadlock;
- crash is one shared round (``CrashRound``) whose crash point comes from a hash chain, fixed when
  the round is made and shown only once it has ended; a player has at most one bet a round
  (unique constraint); bets lock the round row (exposure, window), cash-outs hold it FOR SHARE
  and the bust FOR UPDATE, so no cash-out commits after the bust; the bust settles every bet
  still in with its event in one statement (docs/decisions/0245-0249);
- a server seed is revealed (rotation) only while no round drawn from it is open: rotation and
  every round lock the seed row first, so the check and the reveal see every round of the seed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.db.utils import IntegrityError
from django.utils import timezone

from accounts.models import LedgerReason, User
from accounts.services import (
    RowInsert,
    audit_log_record,
    inventory_add,
    wallet_credit,
    wallet_debit,
    wallet_settle_round,
)
from accounts.services.responsible import (
    play_allowed_check,
    play_gate_raise,
    play_gate_sql,
)
from casinoclub import domain_events
from casinoclub.eventlog import domain_events_appended
from casinoclub.operations import maintenance_get
from casinoclub.realtime.services import realtime_broadcast, realtime_publish
from games import engine, exceptions, metrics
from games.models import (
    CrashChain,
    CrashChainHash,
    CrashPhase,
    CrashRound,
    FairSeed,
    Game,
    GameConfig,
    GameRound,
    LeaderboardEntry,
    LeaderboardPeriod,
    RoundState,
)
from games.selectors import (
    crash_round_public,
    daily_reset_at,
    engine_config,
    engine_config_by_id,
    game_config_current,
    game_config_live_id_sql,
)

# Builds the request's stored response as a row of the round's money statement, from the round
# before it settles (``casinoclub.idempotency.idempotent_response_row``).
ResponseRow = Callable[[GameRound], RowInsert]

CLIENT_SEED_MAX = 64


# ---------------------------------------------------------------- fairness


def fair_seed_ensure(user_id: int) -> FairSeed:
    """The player's active seed pair, created on first use. Idempotent."""
    seed = FairSeed.objects.filter(user_id=user_id, is_active=True).first()
    if seed is not None:
        return seed
    server_seed = engine.new_server_seed()
    try:
        with transaction.atomic():
            return FairSeed.objects.create(
                user_id=user_id,
                server_seed=server_seed,
                server_seed_hash=engine.server_seed_hash(server_seed),
                client_seed=engine.new_server_seed().hex()[:16],
            )
    except IntegrityError:  # created concurrently
        return FairSeed.objects.get(user_id=user_id, is_active=True)


def _fair_seed_lock(user_id: int) -> FairSeed:
    """Lock the player's active seed row (created on first use) and return it.

    Must run inside a transaction. Waiting behind a rotation, the locking read finds the old row
    no longer active and cannot see the new one yet (READ COMMITTED): it reads again, and a new
    statement sees the committed new row.
    """
    while True:
        seed = FairSeed.objects.select_for_update().filter(user_id=user_id, is_active=True).first()
        if seed is not None:
            return seed
        fair_seed_ensure(user_id)


@transaction.atomic(durable=True)
def fair_seed_rotate(user_id: int, client_seed: str | None = None) -> tuple[FairSeed, FairSeed]:
    """Reveal the active server seed and commit a new one; returns (revealed, new).

    The new pair keeps the client seed unless ``client_seed`` is given. Not idempotent.

    A seed stays secret while it can still decide a round: an open round drawn from it (a crash
    round, whose crash point is fixed by the seed when the bet is placed) makes rotation raise
    ``SeedInUse`` (409 ``round_open``, ``details.round_id``); a crash round already due (busted
    or past its auto cash-out) is settled first. Locks the seed, then its open rounds, then (when
    settling) the wallet: the order of ``crash_bet``. Every round takes its nonce under the same
    seed lock, so no round can open on a seed between this check and its reveal.
    """
    old = _fair_seed_lock(user_id)
    _seed_open_rounds_settle_or_refuse(old)
    old.is_active = False
    old.revealed_at = timezone.now()
    old.save(update_fields=["is_active", "revealed_at"])
    server_seed = engine.new_server_seed()
    new = FairSeed.objects.create(
        user_id=user_id,
        server_seed=server_seed,
        server_seed_hash=engine.server_seed_hash(server_seed),
        client_seed=client_seed if client_seed is not None else old.client_seed,
    )
    return old, new


def _seed_open_rounds_settle_or_refuse(seed: FairSeed) -> None:
    """Settle the seed's due crash rounds; raise ``SeedInUse`` for any round still open.

    Must run inside a transaction holding the seed's row lock. Any game counts, not only crash:
    whatever round is open on the seed, its outcome is still secret.
    """
    open_rounds = (
        GameRound.objects.select_for_update(of=("self",))
        .filter(fair_seed=seed, state=RoundState.OPEN)
        .select_related("config", "fair_seed")
        .order_by("pk")
    )
    for open_round in open_rounds:
        raise exceptions.SeedInUse(details={"round_id": open_round.pk})


_FAIR_SEED_FIELDS = [
    "id", "user_id", "server_seed", "server_seed_hash", "client_seed", "nonce", "is_active",
    "created_at", "revealed_at",
]  # fmt: skip


def _nonce_take(user_id: int) -> tuple[FairSeed, int]:
    """Lock the active seed and take its next nonce: (the seed as updated, the round's nonce)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE games_fairseed SET nonce = nonce + 1 WHERE user_id = %s AND is_active"
            " RETURNING id, user_id, server_seed, server_seed_hash, client_seed, nonce, is_active,"
            " created_at, revealed_at",
            [user_id],
        )
        row = cursor.fetchone()
    if row is None:
        fair_seed_ensure(user_id)
        return _nonce_take(user_id)
    seed = FairSeed.from_db(None, _FAIR_SEED_FIELDS, row)
    seed.server_seed = bytes(seed.server_seed)
    return seed, seed.nonce - 1


# ---------------------------------------------------------------- shared round steps


def _validate_bet(config: GameConfig, bet: Any) -> int:
    if (
        isinstance(bet, bool)
        or not isinstance(bet, int)
        or not config.min_bet <= bet <= config.max_bet
    ):
        raise exceptions.BetOutOfRange(
            details={"min_bet": config.min_bet, "max_bet": config.max_bet}
        )
    return bet


def _daily_take(user: User, config: GameConfig) -> int:
    """Count one round for today; raise ``DailyLimitReached`` past the rank's limit (0 = none).

    Returns today's count of the game, this round included.
    """
    limit = int(config.daily_limits.get(user.rank, 0))
    today = timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO games_dailyplaycount AS d (user_id, game, day, count)"
            " VALUES (%s, %s, %s, 1)"
            " ON CONFLICT (user_id, game, day) DO UPDATE SET count = d.count + 1"
            " WHERE %s = 0 OR d.count < %s RETURNING count",
            [user.pk, config.game, today, limit, limit],
        )
        row = cursor.fetchone()
    if row is None:
        raise exceptions.DailyLimitReached(
            details={"limit": limit, "resets_at": daily_reset_at(timezone.now()).isoformat()}
        )
    return int(row[0])


def _reference(game: str, seed_id: int, nonce: int) -> str:
    return f"{game}:{seed_id}:{nonce}"


def round_outcome_public(round_: GameRound) -> dict[str, Any]:
    """The outcome as anyone but the server may see it: nothing of it while the round is open.

    An open round's outcome was drawn from a seed that is still secret (the crash point): players,
    sockets, pages and staff in admin all see it only once the round is settled.
    """
    if round_.state == RoundState.OPEN:
        return {}
    return dict(round_.outcome)


def round_public(round_: GameRound) -> dict[str, Any]:
    """What a player may see of a round: an open crash round hides its crash point."""
    outcome = round_outcome_public(round_)
    return {
        "id": round_.pk,
        "game": round_.game,
        "state": round_.state,
        "bet": round_.bet,
        "payout": round_.payout,
        # what the round did to the player's gold: payout - bet (a draw 0, a lost bet -bet; a
        # gacha round's items are not gold and count nothing here); unknown while a round is open
        "net": None if round_.state == RoundState.OPEN else round_.payout - round_.bet,
        "multiplier": round_.multiplier_x100 / 100,
        "outcome": outcome,
        "params": round_.params,
        "nonce": round_.nonce,
        # a crash bet draws from the shared round's hash chain, not from the player's seed pair
        "server_seed_hash": round_.fair_seed.server_seed_hash if round_.fair_seed else None,
        "client_seed": round_.fair_seed.client_seed if round_.fair_seed else None,
        "crash_round_id": round_.crash_round_id,
        "config_version": round_.config.version,
        "created_at": round_.created_at.isoformat(),
        "settled_at": round_.settled_at.isoformat() if round_.settled_at else None,
    }


def _settle(round_: GameRound, multiplier_x100: int, payout: int, outcome: dict[str, Any]) -> None:
    """Pay, record and publish a round. Must run inside the round's transaction."""
    round_.multiplier_x100 = multiplier_x100
    round_.payout = payout
    round_.outcome = outcome
    round_.state = RoundState.SETTLED
    round_.settled_at = timezone.now()
    round_.save(update_fields=["multiplier_x100", "payout", "outcome", "state", "settled_at"])
    if payout > 0:
        wallet_credit(
            round_.user_id,
            payout,
            reason=LedgerReason.GAME_WIN,
            reference=f"round:{round_.pk}",
            idempotency_key=f"win:{round_.pk}",
        )
    realtime_publish(
        round_.user_id, "game_event", {"event": "round_settled", "round": round_public(round_)}
    )
    domain_events.domain_event_record(
        domain_events.RoundSettled(
            user_id=round_.user_id,
            round_id=round_.pk,
            game=round_.game,
            bet=round_.bet,
            payout=payout,
            multiplier_x100=multiplier_x100,
        )
    )
    game = round_.game
    transaction.on_commit(lambda: metrics.game_rounds_total.labels(game=game).inc())


def _open_round(
    user: User, game: str, bet_or_cost: int, params: dict[str, Any], config: GameConfig
) -> tuple[GameRound, engine.FairRng]:
    """Count the play, take a nonce, debit the stake and create the round row."""
    play_allowed_check(user.pk)
    plays_today = _daily_take(user, config)
    seed, nonce = _nonce_take(user.pk)
    wallet_debit(
        user.pk,
        bet_or_cost,
        reason=LedgerReason.GAME_BET,
        reference=_reference(game, seed.pk, nonce),
        idempotency_key=f"bet:{seed.pk}:{nonce}",
    )
    round_ = GameRound.objects.create(
        user=user,
        game=game,
        config=config,
        fair_seed=seed,  # the row just updated: round_public reads it without another query
        nonce=nonce,
        bet=bet_or_cost,
        params=params,
        state=RoundState.OPEN,
    )
    round_.plays_today = plays_today
    return round_, engine.FairRng(seed.server_seed, seed.client_seed, nonce)


# ---------------------------------------------------------------- instant games


# One statement takes every check and claim of an instant round before its outcome is drawn:
# the newest configuration (bet range and the rank's daily limit), the play block, the daily
# count (only when the bet is in range and play is allowed), the nonce (only when counted; the
# seed row's lock, after the counter's, as in every round) and the round's id.
_ROUND_BEGIN_SQL = (
    "WITH config AS (SELECT id, version, min_bet, max_bet,"
    " COALESCE((daily_limits ->> %s)::int, 0) AS day_limit FROM games_gameconfig"
    " WHERE id = {live_id}),"
    " gate AS ({gate}),"
    " counted AS (INSERT INTO games_dailyplaycount AS d (user_id, game, day, count)"
    " SELECT %s, %s, %s, 1 FROM config, gate"
    " WHERE %s BETWEEN config.min_bet AND config.max_bet AND gate.allowed"
    " ON CONFLICT (user_id, game, day) DO UPDATE SET count = d.count + 1"
    " WHERE (SELECT day_limit FROM config) = 0 OR d.count < (SELECT day_limit FROM config)"
    " RETURNING count),"
    " seed AS (UPDATE games_fairseed SET nonce = nonce + 1"
    " WHERE user_id = %s AND is_active AND EXISTS (SELECT 1 FROM counted)"
    " RETURNING id, server_seed, server_seed_hash, client_seed, nonce)"
    " SELECT config.id, config.version, config.min_bet, config.max_bet, config.day_limit,"
    " gate.allowed, gate.birth_date, gate.until, (SELECT count FROM counted), seed.id,"
    " seed.server_seed,"
    " seed.server_seed_hash, seed.client_seed, seed.nonce,"
    " CASE WHEN seed.id IS NOT NULL THEN nextval(pg_get_serial_sequence('games_gameround', 'id'))"
    " END FROM gate LEFT JOIN config ON true LEFT JOIN seed ON true"
)
_ROUND_ID_SQL = "SELECT nextval(pg_get_serial_sequence('games_gameround', 'id'))"


def _instant_round_begin(
    user: User, game: str, bet: Any
) -> tuple[GameConfig, FairSeed, int, int, int]:
    """Validate the bet, check the play block, count the round, take the nonce and the round's
    id: (the configuration, the seed as updated, the round's nonce, the round's id, the player's
    rounds of the game today with this one).

    Must run inside the round's transaction; a refusal raises before anything else is written
    (``BetOutOfRange``, ``PlayBlocked``, ``DailyLimitReached``) and the caller's transaction rolls
    back whatever the statement counted.
    """
    if isinstance(bet, bool) or not isinstance(bet, int):
        _validate_bet(game_config_current(game), bet)
    live_id_sql, live_id_params = game_config_live_id_sql(game)
    gate_sql, gate_params = play_gate_sql(user.pk)
    today = timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute(
            _ROUND_BEGIN_SQL.format(live_id=live_id_sql, gate=gate_sql),
            [user.rank, *live_id_params, *gate_params, user.pk, game, today, bet, user.pk],
        )
        row = cursor.fetchone()
    assert row is not None
    (config_id, version, min_bet, max_bet, limit, allowed, birth_date, blocked_until, count) = row[
        :9
    ]
    if config_id is None:  # no version yet: version 1 from the defaults, then again
        game_config_current(game)
        return _instant_round_begin(user, game, bet)
    config = GameConfig(
        pk=config_id,
        game=game,
        version=version,
        min_bet=min_bet,
        max_bet=max_bet,
        daily_limits={user.rank: limit},
    )
    _validate_bet(config, bet)
    if not allowed:
        play_gate_raise(birth_date, blocked_until)
    if count is None:
        raise exceptions.DailyLimitReached(
            details={"limit": limit, "resets_at": daily_reset_at(timezone.now()).isoformat()}
        )
    seed_id, server_seed, server_seed_hash, client_seed, next_nonce, round_id = row[9:]
    if seed_id is None:  # the player's first round: the seed pair is created on first use
        seed, nonce = _nonce_take(user.pk)
        with connection.cursor() as cursor:
            cursor.execute(_ROUND_ID_SQL)
            (round_id,) = cursor.fetchone()
        return config, seed, nonce, round_id, count
    seed = FairSeed(
        pk=seed_id,
        user_id=user.pk,
        server_seed=bytes(server_seed),
        server_seed_hash=server_seed_hash,
        client_seed=client_seed,
        nonce=next_nonce,
        is_active=True,
    )
    return config, seed, next_nonce - 1, round_id, count


def _instant_round_settle(
    user: User,
    game: str,
    config: GameConfig,
    seed: FairSeed,
    nonce: int,
    round_id: int,
    *,
    bet: int,
    params: dict[str, Any],
    multiplier_x100: int,
    payout: int,
    outcome: dict[str, Any],
    plays_today: int,
    response_row: ResponseRow | None,
) -> GameRound:
    """Write the settled round in one statement with its money (``wallet_settle_round``): the
    stake and the payout, the round row, its event, its two socket messages (``profile_update``
    with the final balance, the round's ``game_event``) and, when the caller gives
    ``response_row``, the request's stored response."""
    now = timezone.now()
    round_ = GameRound(
        pk=round_id,
        user_id=user.pk,
        game=game,
        config=config,
        fair_seed=seed,
        nonce=nonce,
        bet=bet,
        payout=payout,
        multiplier_x100=multiplier_x100,
        outcome=outcome,
        params=params,
        state=RoundState.SETTLED,
        created_at=now,
        settled_at=now,
    )
    round_.plays_today = plays_today
    round_row = RowInsert(
        "games_gameround (id, user_id, game, config_id, fair_seed_id, nonce, bet, payout,"
        " multiplier_x100, outcome, params, state, created_at, settled_at)",
        "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s, %s, %s",
        [
            round_id, user.pk, game, config.pk, seed.pk, nonce, bet, payout, multiplier_x100,
            json.dumps(outcome), json.dumps(params), RoundState.SETTLED, now, now,
        ],
    )  # fmt: skip
    event_row = RowInsert(
        *domain_events.domain_event_record_row(
            domain_events.RoundSettled(
                user_id=user.pk,
                round_id=round_id,
                game=game,
                bet=bet,
                payout=payout,
                multiplier_x100=multiplier_x100,
            )
        )
    )
    settlement = wallet_settle_round(
        user.pk,
        stake=bet,
        payout=payout,
        stake_reason=LedgerReason.GAME_BET,
        stake_reference=_reference(game, seed.pk, nonce),
        stake_key=f"bet:{seed.pk}:{nonce}",
        payout_reason=LedgerReason.GAME_WIN,
        payout_reference=f"round:{round_id}",
        payout_key=f"win:{round_id}",
        rows=[round_row, event_row, *([response_row(round_)] if response_row else [])],
        messages=[("game_event", {"event": "round_settled", "round": round_public(round_)})],
    )
    round_.balance_after = settlement.balance
    transaction.on_commit(lambda: metrics.game_rounds_total.labels(game=game).inc())
    return round_


def slot_spin(user: User, bet: Any, *, response_row: ResponseRow | None = None) -> GameRound:
    """Spin once. Runs in the caller's transaction (``run_idempotent``) or opens one; a failure
    leaves the caller's transaction to roll back (no savepoint: the spin is its whole work).

    Two statements: the checks and claims (``_instant_round_begin``), the outcome drawn in
    Python, then the money, the round, its event, its messages and — given ``response_row``,
    which builds the row from the round before it settles — the request's stored response in
    one.
    Raises ``BetOutOfRange``, ``PlayBlocked``, ``DailyLimitReached``, ``InsufficientFunds``.
    """
    with transaction.atomic(savepoint=False):
        config, seed, nonce, round_id, plays_today = _instant_round_begin(user, Game.SLOT, bet)
        rng = engine.FairRng(seed.server_seed, seed.client_seed, nonce)
        outcome = engine.slot_spin(engine_config_by_id(config.pk), rng)
        return _instant_round_settle(
            user,
            Game.SLOT,
            config,
            seed,
            nonce,
            round_id,
            bet=bet,
            params={},
            multiplier_x100=outcome.multiplier_x100,
            payout=outcome.payout(bet),
            outcome={"reels": list(outcome.reels)},
            plays_today=plays_today,
            response_row=response_row,
        )


def rps_play(
    user: User, bet: Any, choice: str, *, response_row: ResponseRow | None = None
) -> GameRound:
    """Play one hand against the fair opponent. Runs and raises like ``slot_spin``."""
    with transaction.atomic(savepoint=False):
        config, seed, nonce, round_id, plays_today = _instant_round_begin(user, Game.RPS, bet)
        rng = engine.FairRng(seed.server_seed, seed.client_seed, nonce)
        outcome = engine.rps_play(engine_config_by_id(config.pk), rng, choice)
        return _instant_round_settle(
            user,
            Game.RPS,
            config,
            seed,
            nonce,
            round_id,
            bet=bet,
            params={"choice": choice},
            multiplier_x100=outcome.multiplier_x100,
            payout=outcome.payout(bet),
            outcome={
                "player": outcome.player,
                "opponent": outcome.opponent,
                "result": outcome.result,
            },
            plays_today=plays_today,
            response_row=response_row,
        )


def gacha_pull(user: User, count: int) -> GameRound:
    """1 or 10 pulls as one round (one nonce; the pulls read the HMAC stream in order).

    Every pull grants its reward: gold through the ledger, items into the inventory. The pity
    counter lives on the player's gacha stats row, locked for the round.
    """
    from games.models import PlayerGameStats

    with transaction.atomic():
        config = game_config_current(Game.GACHA)
        gacha = engine_config(config)
        cost = gacha.price if count == 1 else gacha.ten_pull_price
        round_, rng = _open_round(user, Game.GACHA, cost, {"count": count}, config)
        stats, _ = PlayerGameStats.objects.select_for_update().get_or_create(
            user=user, game=Game.GACHA
        )
        pity, pulls, gold = stats.gacha_pity, [], 0
        for _ in range(count):
            pull = engine.gacha_pull(gacha, rng, pity)
            pity = pull.pity_after
            gold += pull.reward.gold
            if pull.reward.item:
                inventory_add(user.pk, pull.reward.item)
            pulls.append({**asdict(pull), "reward": asdict(pull.reward)})
        PlayerGameStats.objects.filter(pk=stats.pk).update(gacha_pity=pity)
        multiplier = gold * 100 // cost
        _settle(round_, multiplier, gold, {"pulls": pulls, "pity": pity})
        return round_


# ---------------------------------------------------------------- crash: one shared round
# docs/decisions/0245-0249. The loop (``manage.py run_crash_loop``, one leader) opens, starts and
# busts rounds; bets and cash-outs come over HTTP and are judged on the round row and the server
# clock, so they need the loop only to have started the round. Locks: the round row first (bets
# and the bust FOR UPDATE, cash-outs FOR SHARE), then the player's rows, wallets in id order.

CRASH_GROUP = "crash"
CRASH_RECENT_BUSTS = 20


def _crash_engine(config: GameConfig) -> engine.CrashConfig:
    crash = engine_config(config)
    assert isinstance(crash, engine.CrashConfig)
    return crash


@transaction.atomic(durable=True)
def crash_chain_create(length: int, seed_hex: str | None = None) -> CrashChain:
    """Make a chain of ``length`` rounds and store every link; returns it (its terminal hash is
    the commitment to publish). ``seed_hex`` only for tests and the documented dev chain. Not
    idempotent: every call is a new chain. Raises ``CrashChainInvalid`` for a bad length/seed."""
    if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= 10_000_000:
        raise exceptions.CrashChainInvalid(details={"length": "1 to 10,000,000"})
    seed = seed_hex if seed_hex is not None else engine.chain_seed_new()
    if not engine.is_hash_hex(seed):
        raise exceptions.CrashChainInvalid(details={"seed": "64 lowercase hex digits"})
    hashes = engine.chain_hashes(seed, length)
    chain = CrashChain.objects.create(length=length, terminal_hash="pending")
    batch: list[CrashChainHash] = []
    terminal = ""
    for index, link in enumerate(hashes):  # chain[i] is played by the chain's round N - i
        batch.append(CrashChainHash(chain=chain, position=length - index, hash=link))
        terminal = link
        if len(batch) >= 5000:
            CrashChainHash.objects.bulk_create(batch)
            batch = []
    CrashChainHash.objects.bulk_create(batch)
    chain.terminal_hash = terminal
    chain.save(update_fields=["terminal_hash"])
    return chain


@transaction.atomic(durable=True)
def crash_chain_salt_set(
    chain_id: int, salt: str, source: str, *, actor: User | None = None
) -> CrashChain:
    """Fix the chain's salt, once, after its terminal hash was committed (published): ``salt``
    is the public value named by ``source`` (e.g. the hash of Bitcoin block N, N announced with
    the terminal hash). Raises ``CrashChainInvalid`` for an unknown chain, a salt already set, a
    salt that is not 64 lowercase hex digits or an empty source. Writes a
    ``crash_chain_salt_set`` audit row (``actor``: the staff member in admin; None: an operator's
    command). Not idempotent: a second call is refused and changes nothing."""
    chain = CrashChain.objects.select_for_update().filter(pk=chain_id).first()
    if chain is None:
        raise exceptions.CrashChainInvalid(details={"chain": "no such chain"})
    if chain.salt:
        raise exceptions.CrashChainInvalid(details={"salt": "already set: it never changes"})
    if not engine.is_hash_hex(salt):
        raise exceptions.CrashChainInvalid(details={"salt": "64 lowercase hex digits"})
    if not source.strip():
        raise exceptions.CrashChainInvalid(details={"source": "say where the salt comes from"})
    chain.salt, chain.salt_source, chain.salt_set_at = salt, source.strip(), timezone.now()
    chain.save(update_fields=["salt", "salt_source", "salt_set_at"])
    audit_log_record(
        actor=actor,
        action="crash_chain_salt_set",
        target=f"crashchain:{chain.pk} {chain}",
        before={"salt": "", "salt_source": ""},
        after={
            "salt": chain.salt,
            "salt_source": chain.salt_source,
            "salt_set_at": chain.salt_set_at.isoformat(),
        },
    )
    return chain


def _crash_chain_playable() -> CrashChain | None:
    """The oldest chain with its salt set and rounds left to play."""
    for chain in CrashChain.objects.exclude(salt="").order_by("pk"):
        played = CrashRound.objects.filter(chain=chain).count()
        if played < chain.length:
            return chain
    return None


def _crash_round_open(now: Any) -> CrashRound | None:
    """Make the next round (betting until now + CRASH_BETTING_SECONDS); None without a chain."""
    chain = _crash_chain_playable()
    if chain is None:
        return None
    position = (
        CrashRound.objects.filter(chain=chain).aggregate(top=Max("position"))["top"] or 0
    ) + 1
    link = CrashChainHash.objects.get(chain=chain, position=position).hash
    config = game_config_current(Game.CRASH)
    round_ = CrashRound.objects.create(
        chain=chain,
        position=position,
        hash=link,
        crash_x100=engine.chain_crash_point_x100(_crash_engine(config), link, chain.salt),
        config=config,
        phase=CrashPhase.BETTING,
        betting_ends_at=now + timedelta(seconds=settings.CRASH_BETTING_SECONDS),
        created_at=now,
    )
    realtime_broadcast(CRASH_GROUP, "crash_betting", {"round": crash_round_public(round_)})
    return round_


def _crash_round_start(round_: CrashRound, now: Any) -> None:
    """Betting → running: the curve starts now; ``bust_at`` is when it reaches the crash point."""
    crash = _crash_engine(round_.config)
    bust_ms = engine.crash_bust_ms(crash, round_.crash_x100)
    updated = CrashRound.objects.filter(pk=round_.pk, phase=CrashPhase.BETTING).update(
        phase=CrashPhase.RUNNING, started_at=now, bust_at=now + timedelta(milliseconds=bust_ms)
    )
    if updated:
        round_.refresh_from_db()
        realtime_broadcast(CRASH_GROUP, "crash_running", {"round": crash_round_public(round_)})


# Every open bet of the round settles at the bust in one statement with its event: a bet whose
# auto cash-out is at most the crash point (above 1.00x) wins at exactly its target, every other
# bet loses. The event rows are the columns of ``casinoclub.domain_events.RoundSettled``.
_CRASH_SETTLE_SQL = """
WITH settled AS (
    UPDATE games_gameround AS bet SET
        state = 'settled',
        settled_at = %(now)s,
        multiplier_x100 = CASE WHEN won.target IS NULL THEN 0 ELSE won.target END,
        payout = CASE WHEN won.target IS NULL THEN 0 ELSE bet.bet * won.target / 100 END,
        outcome = jsonb_build_object('crash_x100', %(crash)s, 'cashout_x100', won.target)
    FROM (
        SELECT id, CASE WHEN %(crash)s > 100
            AND (params ->> 'auto_cashout_x100')::int <= %(crash)s
            THEN (params ->> 'auto_cashout_x100')::int END AS target
        FROM games_gameround WHERE crash_round_id = %(round)s AND state = 'open'
    ) AS won
    WHERE bet.id = won.id
    RETURNING bet.id, bet.user_id, bet.bet, bet.payout, bet.multiplier_x100
),
events AS (
    INSERT INTO casinoclub_domainevent (type, user_id, payload, created_at, transaction_id)
    SELECT 'round_settled', user_id, jsonb_build_object('round_id', id, 'game', 'crash',
        'bet', bet, 'payout', payout, 'multiplier_x100', multiplier_x100),
        %(now)s, pg_current_xact_id()::text::bigint
    FROM settled
)
SELECT id, user_id, bet, payout, multiplier_x100 FROM settled ORDER BY user_id
"""


def _crash_round_bust(round_: CrashRound, now: Any) -> None:
    """Settle every open bet of the running round at its crash point and reveal it.

    Must run inside a transaction holding the round's row lock, at or after ``bust_at``. Cash-outs
    hold the row FOR SHARE, so none commits after this: a cash-out waiting behind it then finds the
    round busted."""
    CrashRound.objects.filter(pk=round_.pk).update(phase=CrashPhase.BUSTED, ended_at=now)
    round_.phase, round_.ended_at = CrashPhase.BUSTED, now
    with connection.cursor() as cursor:
        cursor.execute(
            _CRASH_SETTLE_SQL, {"now": now, "crash": round_.crash_x100, "round": round_.pk}
        )
        settled = cursor.fetchall()
        # cash-outs made while it ran learn the crash point now that it is public
        cursor.execute(
            "UPDATE games_gameround SET outcome = outcome || jsonb_build_object('crash_x100', %s)"
            " WHERE crash_round_id = %s AND NOT outcome ? 'crash_x100'",
            [round_.crash_x100, round_.pk],
        )
    domain_events_appended(user_id for _, user_id, *_ in settled)
    winners = []
    for bet_id, user_id, _, payout, multiplier_x100 in settled:  # ordered by user: wallet locks
        if payout > 0:
            wallet_credit(
                user_id,
                payout,
                reason=LedgerReason.GAME_WIN,
                reference=f"round:{bet_id}",
                idempotency_key=f"win:{bet_id}",
            )
            winners.append((user_id, multiplier_x100, payout))
    nicknames = dict(
        User.objects.filter(pk__in=[w[0] for w in winners]).values_list("pk", "nickname")
    )
    count = len(settled)
    transaction.on_commit(lambda: metrics.game_rounds_total.labels(game=Game.CRASH).inc(count))
    realtime_broadcast(
        CRASH_GROUP,
        "crash_busted",
        {
            "round": crash_round_public(round_),
            "auto_cashouts": [
                {"nickname": nicknames.get(user_id, ""), "multiplier": m / 100, "win": payout}
                for user_id, m, payout in winners
            ],
        },
    )


def _crash_round_void(round_: CrashRound, now: Any) -> None:
    """Void a round that never started: every stake goes back (a 1.00x payout, so the bet, its
    event and the player's stats read as a round that returned the stake). Must run inside a
    transaction holding the round's row lock."""
    CrashRound.objects.filter(pk=round_.pk).update(phase=CrashPhase.VOIDED, ended_at=now)
    round_.phase, round_.ended_at = CrashPhase.VOIDED, now
    bets = list(
        GameRound.objects.select_for_update()
        .filter(crash_round=round_, state=RoundState.OPEN)
        .order_by("user_id")
    )
    for bet in bets:
        GameRound.objects.filter(pk=bet.pk).update(
            state=RoundState.SETTLED,
            settled_at=now,
            payout=bet.bet,
            multiplier_x100=100,
            outcome={"voided": True, "crash_x100": round_.crash_x100},
        )
        wallet_credit(
            bet.user_id,
            bet.bet,
            reason=LedgerReason.GAME_WIN,
            reference=f"crash-void:{round_.pk}",
            idempotency_key=f"win:{bet.pk}",
        )
        domain_events.domain_event_record(
            domain_events.RoundSettled(
                user_id=bet.user_id,
                round_id=bet.pk,
                game=Game.CRASH,
                bet=bet.bet,
                payout=bet.bet,
                multiplier_x100=100,
            )
        )
    realtime_broadcast(CRASH_GROUP, "crash_busted", {"round": crash_round_public(round_)})


def _crash_live_lock() -> CrashRound | None:
    return (
        CrashRound.objects.select_for_update(of=("self",))
        .select_related("config", "chain")
        .filter(phase__in=[CrashPhase.BETTING, CrashPhase.RUNNING])
        .first()
    )


def crash_loop_step(now: Any | None = None) -> float:
    """One step of the round loop (run only by the leader): open, start or bust the live round
    when its time has come. Returns the seconds until the next step is due. Idempotent."""
    with transaction.atomic(durable=True):
        now = now or timezone.now()
        live = _crash_live_lock()
        if live is None:
            if maintenance_get().is_on:  # no new round while play is closed (decision 0226)
                return 1.0
            last = CrashRound.objects.order_by("-pk").first()
            if last is not None and last.ended_at is not None:
                next_at = last.ended_at + timedelta(seconds=settings.CRASH_PAUSE_SECONDS)
                if now < next_at:
                    return (next_at - now).total_seconds()
            opened = _crash_round_open(now)
            return settings.CRASH_BETTING_SECONDS if opened is not None else 5.0
        if live.phase == CrashPhase.BETTING:
            if now < live.betting_ends_at:
                return (live.betting_ends_at - now).total_seconds()
            _crash_round_start(live, now)
            live.refresh_from_db()
        assert live.bust_at is not None
        if now < live.bust_at:
            return min(1.0, (live.bust_at - now).total_seconds())
        _crash_round_bust(live, now)
        return settings.CRASH_PAUSE_SECONDS


def crash_loop_takeover(now: Any | None = None) -> int:
    """What a new leader does first: void a round it finds still betting (its window may have
    closed while no loop ran; stakes returned, docs/decisions/0247) and return the stakes of
    private rounds played before the shared round. A running round is left to ``crash_loop_step``,
    which busts it at its committed time. Returns the number of rounds voided or refunded."""
    done = 0
    with transaction.atomic(durable=True):
        now = now or timezone.now()
        live = _crash_live_lock()
        if live is not None and live.phase == CrashPhase.BETTING:
            _crash_round_void(live, now)
            done += 1
    legacy = GameRound.objects.filter(
        game=Game.CRASH, state=RoundState.OPEN, crash_round__isnull=True
    ).values_list("pk", flat=True)
    for round_id in list(legacy):
        with transaction.atomic(durable=True):
            bet = (
                GameRound.objects.select_for_update()
                .filter(pk=round_id, state=RoundState.OPEN)
                .first()
            )
            if bet is None:
                continue
            GameRound.objects.filter(pk=bet.pk).update(
                state=RoundState.SETTLED, settled_at=timezone.now(), payout=bet.bet,
                multiplier_x100=100, outcome={**bet.outcome, "voided": True},
            )  # fmt: skip
            wallet_credit(
                bet.user_id, bet.bet, reason=LedgerReason.GAME_WIN,
                reference=f"round:{bet.pk}", idempotency_key=f"win:{bet.pk}",
            )  # fmt: skip
            domain_events.domain_event_record(
                domain_events.RoundSettled(
                    user_id=bet.user_id, round_id=bet.pk, game=Game.CRASH, bet=bet.bet,
                    payout=bet.bet, multiplier_x100=100,
                )
            )  # fmt: skip
            done += 1
    return done


def crash_settle_open_rounds(now: Any | None = None) -> int:
    """For maintenance: void the round still taking bets (stakes returned) and bust a running
    round whose bust time has passed. Returns how many rounds are still running (their bust time
    is ahead: call again after it; the loop must not open a new round meanwhile). Idempotent.
    Runs in the caller's transaction when there is one (the maintenance switch's)."""
    with transaction.atomic():
        now = now or timezone.now()
        live = _crash_live_lock()
        if live is None:
            return 0
        if live.phase == CrashPhase.BETTING:
            _crash_round_void(live, now)
            return 0
        assert live.bust_at is not None
        if now >= live.bust_at:
            _crash_round_bust(live, now)
            return 0
        return 1


_CRASH_BET_SQL = (
    "UPDATE games_crashround SET exposure = exposure + %s, bets_count = bets_count + 1"
    " WHERE id = %s AND phase = 'betting' AND betting_ends_at > %s AND exposure + %s <= %s"
    " RETURNING id"
)


def crash_bet(user: User, bet: Any, auto_cashout_x100: int | None) -> GameRound:
    """Bet on the shared round while its betting window is open; optional auto cash-out.

    Runs in the caller's transaction (``run_idempotent``) or opens one. The stake is debited now
    (key ``crash-bet:<round>``: one bet per player and round); the bet settles when the player
    cashes out or at the bust. Raises ``BetOutOfRange``, ``InvalidCashoutTarget``,
    ``CrashBettingClosed``, ``CrashAlreadyBet``, ``CrashRoundExposureFull``, ``PlayBlocked``,
    ``DailyLimitReached``, ``InsufficientFunds``."""
    if auto_cashout_x100 is not None and auto_cashout_x100 < 101:
        raise exceptions.InvalidCashoutTarget()
    with transaction.atomic():
        now = timezone.now()
        round_ = (
            CrashRound.objects.select_related("config")
            .filter(phase=CrashPhase.BETTING, betting_ends_at__gt=now)
            .first()
        )
        if round_ is None:
            raise exceptions.CrashBettingClosed()
        config = round_.config
        crash = _crash_engine(config)
        bet = _validate_bet(config, bet)
        if (
            auto_cashout_x100 is not None
            and not 101 <= auto_cashout_x100 <= crash.max_multiplier_x100
        ):
            raise exceptions.InvalidCashoutTarget()
        play_allowed_check(user.pk)
        plays_today = _daily_take(user, config)
        exposure = bet * (auto_cashout_x100 or crash.max_multiplier_x100) // 100
        cap = settings.CRASH_ROUND_EXPOSURE_CAP
        with connection.cursor() as cursor:  # takes the round's row lock until commit
            cursor.execute(_CRASH_BET_SQL, [exposure, round_.pk, now, exposure, cap])
            taken = cursor.fetchone()
        if taken is None:
            if CrashRound.objects.filter(pk=round_.pk, phase=CrashPhase.BETTING).exists() and (
                timezone.now() < round_.betting_ends_at
            ):
                raise exceptions.CrashRoundExposureFull(details={"cap": cap})
            raise exceptions.CrashBettingClosed()
        # under the round's lock a twin bet of the player has committed, so this sees it
        if GameRound.objects.filter(crash_round_id=round_.pk, user_id=user.pk).exists():
            raise exceptions.CrashAlreadyBet()
        wallet_debit(
            user.pk,
            bet,
            reason=LedgerReason.GAME_BET,
            reference=f"crash:{round_.pk}",
            idempotency_key=f"crash-bet:{round_.pk}",
        )
        placed = GameRound.objects.create(
            user=user,
            game=Game.CRASH,
            config=config,
            crash_round=round_,
            bet=bet,
            params={"auto_cashout_x100": auto_cashout_x100},
            state=RoundState.OPEN,
            created_at=now,
        )
        placed.plays_today = plays_today
        realtime_broadcast(
            CRASH_GROUP,
            "crash_bet",
            {"round_id": round_.pk, "nickname": user.nickname, "amount": bet,
             "auto_cashout": None if auto_cashout_x100 is None else auto_cashout_x100 / 100},
        )  # fmt: skip
        return placed


def crash_cashout(user: User, round_id: int) -> GameRound:
    """Cash out the player's bet (``round_id``: the bet's id) at the multiplier of the server
    clock now, which must be before the bust; an auto cash-out already reached pays its target.

    Runs in the caller's transaction or opens one. Holds the shared round's row FOR SHARE, so
    the bust waits for it, and a cash-out after the bust finds the round busted. Raises
    ``RoundNotFound`` (also another player's bet), ``RoundAlreadySettled``,
    ``CrashRoundNotRunning``, ``CrashRoundBusted``."""
    with transaction.atomic():
        bet = (
            GameRound.objects.filter(pk=round_id, user=user, game=Game.CRASH)
            .select_related("config")
            .first()
        )
        if bet is None:
            raise exceptions.RoundNotFound()
        if bet.crash_round_id is None:
            raise exceptions.RoundAlreadySettled()
        shared = CrashRound.objects.raw(
            "SELECT * FROM games_crashround WHERE id = %s FOR SHARE", [bet.crash_round_id]
        )[0]
        now = timezone.now()  # after the lock: a bust that committed before it is seen
        state, payout_before = (
            GameRound.objects.filter(pk=bet.pk).values_list("state", "payout").get()
        )
        if shared.phase == CrashPhase.BETTING:
            raise exceptions.CrashRoundNotRunning()
        if state != RoundState.OPEN and (shared.phase == CrashPhase.RUNNING or payout_before > 0):
            raise exceptions.RoundAlreadySettled()
        if shared.phase != CrashPhase.RUNNING or shared.bust_at is None or now >= shared.bust_at:
            raise exceptions.CrashRoundBusted()
        assert shared.started_at is not None
        crash = _crash_engine(bet.config)
        elapsed_ms = int((now - shared.started_at).total_seconds() * 1000)
        multiplier = engine.multiplier_at_x100(crash, max(0, elapsed_ms))
        target = bet.params.get("auto_cashout_x100")
        if target is not None and target <= multiplier:
            multiplier = target  # the auto cash-out came first, exactly at its target
        payout = bet.bet * multiplier // 100
        updated = GameRound.objects.filter(pk=bet.pk, state=RoundState.OPEN).update(
            state=RoundState.SETTLED,
            settled_at=now,
            multiplier_x100=multiplier,
            payout=payout,
            outcome={"cashout_x100": multiplier},
        )
        if not updated:
            raise exceptions.RoundAlreadySettled()
        bet.state, bet.settled_at, bet.multiplier_x100 = RoundState.SETTLED, now, multiplier
        bet.payout, bet.outcome = payout, {"cashout_x100": multiplier}
        if payout > 0:
            entry = wallet_credit(
                user.pk,
                payout,
                reason=LedgerReason.GAME_WIN,
                reference=f"round:{bet.pk}",
                idempotency_key=f"win:{bet.pk}",
            )
            bet.balance_after = entry.balance_after
        domain_events.domain_event_record(
            domain_events.RoundSettled(
                user_id=user.pk,
                round_id=bet.pk,
                game=Game.CRASH,
                bet=bet.bet,
                payout=payout,
                multiplier_x100=multiplier,
            )
        )
        realtime_broadcast(
            CRASH_GROUP,
            "crash_cashout",
            {"round_id": shared.pk, "nickname": user.nickname, "multiplier": multiplier / 100,
             "win": payout},
        )  # fmt: skip
        transaction.on_commit(lambda: metrics.game_rounds_total.labels(game=Game.CRASH).inc())
        return bet


def leaderboard_daily_purge(*, before: date) -> int:
    """Delete daily leaderboard rows of days before ``before``. Idempotent.

    Weekly and all-time rows are kept; a past day's board is no longer shown after its week."""
    deleted, _ = LeaderboardEntry.objects.filter(
        period=LeaderboardPeriod.DAILY, period_start__lt=before
    ).delete()
    return deleted
