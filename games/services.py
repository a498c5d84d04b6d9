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
- a crash point is stored when the bet is placed and never leaves the server before the round is
  settled; at most one crash round per player is open (partial unique constraint);
- a server seed is revealed (rotation) only while no round drawn from it is open: rotation and
  every round lock the seed row first, so the check and the reveal see every round of the seed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.utils import IntegrityError
from django.utils import timezone

from accounts.models import LedgerReason, User
from accounts.services import (
    RowInsert,
    inventory_add,
    wallet_credit,
    wallet_debit,
    wallet_settle_round,
    wallets_lock,
)
from accounts.services.responsible import (
    play_allowed_check,
    play_gate_raise,
    play_gate_sql,
)
from casinoclub import domain_events
from casinoclub.queueing import task_enqueue_after_commit
from casinoclub.realtime.services import realtime_publish
from games import engine, exceptions, metrics
from games.models import (
    FairSeed,
    Game,
    GameConfig,
    GameRound,
    LeaderboardEntry,
    LeaderboardPeriod,
    RoundState,
)
from games.selectors import (
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
        if open_round.game == Game.CRASH and _crash_settle_if_due(open_round, timezone.now()):
            continue
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
        "server_seed_hash": round_.fair_seed.server_seed_hash,
        "client_seed": round_.fair_seed.client_seed,
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


# ---------------------------------------------------------------- crash


def _crash_due_at(round_: GameRound, crash: engine.CrashConfig) -> timedelta:
    """When the round ends by itself: at its auto cash-out if reached, else when it busts."""
    crash_x100 = int(round_.outcome["crash_x100"])
    target = round_.params.get("auto_cashout_x100")
    end = target if target is not None and target <= crash_x100 else crash_x100
    return timedelta(milliseconds=engine.elapsed_ms_for_x100(crash, end))


def _crash_finish(round_: GameRound, cashout_x100: int | None) -> None:
    # The wallet before the stats, boards and messages _settle writes, as in every other round
    # (a bust pays nothing, so no credit would take it first): claims lock it first too.
    wallets_lock([round_.user_id])
    crash = engine_config(round_.config)
    crash_x100 = int(round_.outcome["crash_x100"])
    paid_x100 = engine.crash_settle(crash, crash_x100, cashout_x100)
    _settle(
        round_,
        paid_x100,
        round_.bet * paid_x100 // 100,
        {"crash_x100": crash_x100, "cashout_x100": cashout_x100 if paid_x100 else None},
    )


def _crash_settle_if_due(round_: GameRound, now: Any) -> bool:
    crash = engine_config(round_.config)
    if now - round_.created_at < _crash_due_at(round_, crash):
        return False
    target = round_.params.get("auto_cashout_x100")
    _crash_finish(round_, target)
    return True


def crash_bet(user: User, bet: Any, auto_cashout_x100: int | None) -> GameRound:
    """Place a crash bet: the crash point is drawn now and kept secret until the round ends.

    Raises ``BetOutOfRange``, ``DailyLimitReached``, ``InsufficientFunds``, ``RoundAlreadyOpen``.
    """
    from games import tasks

    with transaction.atomic():
        # The player's seed first, as in every round: settling a due round below credits the
        # wallet, which must not be locked before the seed (a concurrent spin holds the seed and
        # waits for the wallet: deadlock); it also makes two bets of one player take turns, so
        # the second sees the first's open round instead of hitting its unique constraint.
        _fair_seed_lock(user.pk)
        for open_round in (
            GameRound.objects.select_for_update(of=("self",))
            .filter(user=user, game=Game.CRASH, state=RoundState.OPEN)
            .select_related("config", "fair_seed")
        ):
            if not _crash_settle_if_due(open_round, timezone.now()):
                raise exceptions.RoundAlreadyOpen()
        config = game_config_current(Game.CRASH)
        crash = engine_config(config)
        bet = _validate_bet(config, bet)
        if (
            auto_cashout_x100 is not None
            and not 101 <= auto_cashout_x100 <= crash.max_multiplier_x100
        ):
            raise exceptions.InvalidCashoutTarget()
        params = {"auto_cashout_x100": auto_cashout_x100}
        try:
            with transaction.atomic():
                round_, rng = _open_round(user, Game.CRASH, bet, params, config)
        except IntegrityError as error:  # one open round per player (partial unique constraint)
            raise exceptions.RoundAlreadyOpen() from error
        round_.outcome = {"crash_x100": engine.crash_point_x100(crash, rng)}
        round_.save(update_fields=["outcome"])
        realtime_publish(
            user.pk, "game_event", {"event": "crash_started", "round": round_public(round_)}
        )
        due = _crash_due_at(round_, crash).total_seconds()
        round_id = round_.pk
        # an unreachable broker is logged; crash_rounds_settle_due_task settles the round then
        task_enqueue_after_commit(tasks.crash_round_settle_task, round_id, countdown=due)
        return round_


def crash_cashout(user: User, round_id: int) -> GameRound:
    """Cash out now at the server's multiplier; too late (busted) pays nothing.

    Raises ``RoundNotFound`` (also for another player's round) and ``RoundAlreadySettled``.
    """
    with transaction.atomic():
        round_ = (
            GameRound.objects.select_for_update(of=("self",))
            .select_related("config", "fair_seed")
            .filter(pk=round_id, user=user, game=Game.CRASH)
            .first()
        )
        if round_ is None:
            raise exceptions.RoundNotFound()
        if round_.state != RoundState.OPEN:
            raise exceptions.RoundAlreadySettled()
        now = timezone.now()
        if not _crash_settle_if_due(round_, now):
            crash = engine_config(round_.config)
            elapsed_ms = int((now - round_.created_at).total_seconds() * 1000)
            _crash_finish(round_, engine.multiplier_at_x100(crash, elapsed_ms))
        return round_


def crash_round_settle(round_id: int) -> bool:
    """Settle an open crash round whose time has come (auto cash-out or bust). Idempotent."""
    with transaction.atomic():
        round_ = (
            GameRound.objects.select_for_update(of=("self",))
            .select_related("config", "fair_seed")
            .filter(pk=round_id, state=RoundState.OPEN)
            .first()
        )
        return round_ is not None and _crash_settle_if_due(round_, timezone.now())


def crash_rounds_settle_due() -> int:
    """Settle every open crash round that is due (beat sweeps what a lost task missed)."""
    ids = GameRound.objects.filter(game=Game.CRASH, state=RoundState.OPEN).values_list(
        "pk", flat=True
    )
    return sum(crash_round_settle(round_id) for round_id in list(ids))


def crash_rounds_settle_open() -> int:
    """Settle every open crash round now, before maintenance closes play: a round that is due
    settles as it would anyway (auto cash-out or bust); one still running is cashed out at the
    server's multiplier of this moment, as if its player had pressed cash out. Idempotent."""
    settled = 0
    ids = GameRound.objects.filter(game=Game.CRASH, state=RoundState.OPEN).values_list(
        "pk", flat=True
    )
    for round_id in list(ids):
        with transaction.atomic():
            round_ = (
                GameRound.objects.select_for_update(of=("self",))
                .select_related("config", "fair_seed")
                .filter(pk=round_id, state=RoundState.OPEN)
                .first()
            )
            if round_ is None:
                continue
            now = timezone.now()
            if not _crash_settle_if_due(round_, now):
                crash = engine_config(round_.config)
                elapsed_ms = int((now - round_.created_at).total_seconds() * 1000)
                _crash_finish(round_, engine.multiplier_at_x100(crash, elapsed_ms))
            settled += 1
    return settled


def leaderboard_daily_purge(*, before: date) -> int:
    """Delete daily leaderboard rows of days before ``before``. Idempotent.

    Weekly and all-time rows are kept; a past day's board is no longer shown after its week."""
    deleted, _ = LeaderboardEntry.objects.filter(
        period=LeaderboardPeriod.DAILY, period_start__lt=before
    ).delete()
    return deleted
