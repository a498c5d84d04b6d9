"""REST routes under wrk: the players they need, the measured runs and their figure lines.

Every route is measured on a server in production shape (gunicorn by default) with wrk at each
``--connections`` level, ``spread`` over every player and ``hot`` on the first one:

- ``spin``    POST /api/games/slot/spin  ``{"bet": 10}``, a fresh Idempotency-Key per request.
- ``buy``     POST /api/shop/buy  ``{"product_code": "gold-small"}`` (simulated gateway: succeeds).
- ``streak``  POST /api/streak/claim: a player claims once a (local) day, a second claim is a
              409, so it runs ``once``: every request is a player who has not claimed yet, each run
              starting where the last one stopped. No ``hot`` figure (one claim per day is the rule
              being measured). A run that gets past the last player is refused and flagged: give
              more ``--players``.
- ``login``   POST /api/auth/login ``{"site_id", "password"}`` (no token), the password checked
              with the production hasher. Login is throttled per client address and wrk is one
              address: the bench servers get ``THROTTLE_LOGIN`` (see ``harness.BENCH_SERVER_ENV``).
              Every login succeeds, so the lockout (failures only) never triggers.
- ``catalog`` GET /api/shop/catalog.
- ``floor``   POST /bench/floor/spin: the reference's spin transaction served by our stack
              (gunicorn, Django, DRF, simplejwt, psycopg; ``bench/floor.py``), a bench-only route.
              It measures what the framework alone allows on this machine, so the gap to the
              reference splits into framework cost (reference → floor) and the product's own work
              (floor → spin).

Ratios are to the reference's slot spin at 32 connections (spread for spread and once, hot for
hot): the reference implements only the spin, so for the other routes and for 128 connections the
ratio compares with the same yardstick, not with a like-for-like ceiling.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import projection_lag
from bench.harness import FOREIGN, WrkRun, db_sessions, drain, http_request, log

GOLD = 1_000_000
PASSWORD = "bench-" + secrets.token_urlsafe(12)  # every bench player's; checked by login


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: str
    body: dict[str, Any] | None = None
    auth: bool = True  # a bearer token per request
    idempotent: bool = True  # a fresh Idempotency-Key per request
    per_player_body: bool = False  # the body comes from the bodies file (login)
    modes: tuple[str, ...] = ("spread", "hot")
    # wrk's per-request timeout: login's password hash queues 128 connections past 10 s by design
    timeout_s: int = 10


def routes(bet: int, product: str) -> dict[str, Route]:
    return {
        "spin": Route("spin", "POST", "/api/games/slot/spin", {"bet": bet}),
        "buy": Route("buy", "POST", "/api/shop/buy", {"product_code": product}),
        "streak": Route("streak", "POST", "/api/streak/claim", {}, modes=("once",)),
        "login": Route(
            "login",
            "POST",
            "/api/auth/login",
            auth=False,
            idempotent=False,
            per_player_body=True,
            timeout_s=30,
        ),
        "catalog": Route("catalog", "GET", "/api/shop/catalog", idempotent=False),
        "floor": Route("floor", "POST", "/bench/floor/spin", {"bet": bet}),
    }


@dataclass
class Players:
    """What ``prepare`` made: files wrk reads, ids for the socket benchmarks, store baselines."""

    count: int
    tokens_path: Path
    bodies_path: Path
    user_ids: list[int]
    tokens: list[str]
    staff_token: str
    config_id: int
    once_offset: int = 0  # the next player who has not claimed today's streak
    ok_responses: dict[str, int] = field(default_factory=dict)  # route -> 200s counted


def prepare(players: int, work_dir: Path) -> Players:
    """Migrate; create VIP players with gold and seeds, one staff member, an unlimited slot
    configuration version; write one access token and one login body per player."""
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import DatabaseError, connections, transaction
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import LedgerEntry, LedgerReason, Rank, User, Wallet
    from accounts.roles import ECONOMY
    from accounts.tokens import TOKEN_VERSION_CLAIM, token_pair_for_user
    from games import engine
    from games.models import FairSeed, Game, GameConfig
    from games.selectors import game_config_current

    started = time.monotonic()
    call_command("migrate", "--no-input", verbosity=0)
    migrated = time.monotonic()
    run = secrets.token_hex(3)
    password = make_password(PASSWORD)  # the production hasher: login pays a real check
    with transaction.atomic():
        users = User.objects.bulk_create(
            (
                User(
                    site_id=f"spin{run}_{index:06d}",
                    nickname=f"S{run}{index:06d}",
                    phone_number=f"+7{int(run, 16) % 10**6:06d}{index:06d}",
                    password=password,
                    rank=Rank.VIP,
                    birth_date=datetime.date(1990, 1, 1),  # passed the age gate
                )
                for index in range(players)
            ),
            batch_size=2000,
        )
        # Bulk rows instead of wallet_credit per player (10,000 transactions with their socket
        # messages): each wallet starts with exactly one ledger entry of its balance, which is
        # what check_ledger verifies.
        Wallet.objects.bulk_create(
            (Wallet(user=user, balance=GOLD) for user in users), batch_size=2000
        )
        LedgerEntry.objects.bulk_create(
            (
                LedgerEntry(
                    wallet_id=user.pk,
                    delta=GOLD,
                    balance_after=GOLD,
                    reason=LedgerReason.STAFF_GRANT,
                    reference="bench/spin",
                    idempotency_key=f"bench-spin-fund-{run}",
                )
                for user in users
            ),
            batch_size=2000,
        )
        seeds = []
        for user in users:  # like the reference, every player has a committed seed pair
            server_seed = engine.new_server_seed()
            seeds.append(
                FairSeed(
                    user=user,
                    server_seed=server_seed,
                    server_seed_hash=engine.server_seed_hash(server_seed),
                    client_seed=engine.new_server_seed().hex()[:16],
                )
            )
        FairSeed.objects.bulk_create(seeds, batch_size=2000)
        current = game_config_current(Game.SLOT)
        config = GameConfig.objects.create(
            game=Game.SLOT,
            version=current.version + 1,
            engine=current.engine,
            min_bet=current.min_bet,
            max_bet=max(current.max_bet, 1_000_000),
            daily_limits={rank: 0 for rank in Rank.values},
            note="bench: no daily limit",
        )
    staff = User.objects.create_user(
        f"benchstaff{run}", f"Staff{run}", f"+8{int(run, 16) % 10**8:08d}", is_staff=True
    )
    staff.groups.add(Group.objects.get(name=ECONOMY))  # the role that grants gold
    # Access tokens as token_pair_for_user makes them (user id + token version), without the
    # refresh token's OutstandingToken row per player.
    tokens = []
    for user in users:
        token = AccessToken.for_user(user)
        token[TOKEN_VERSION_CLAIM] = user.token_version
        tokens.append(str(token))
    tokens_path = work_dir / "tokens.txt"
    tokens_path.write_text("\n".join(tokens) + "\n")
    bodies_path = work_dir / "login-bodies.txt"
    bodies_path.write_text(
        "".join(
            json.dumps({"site_id": user.site_id, "password": PASSWORD}) + "\n" for user in users
        )
    )
    # Like the reference's seed: fresh statistics and no pending autovacuum or checkpoint of the
    # bulk load, so the first server measured does not pay for them.
    with connections["default"].cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        with contextlib.suppress(DatabaseError):  # CHECKPOINT needs a superuser (external DB)
            cursor.execute("CHECKPOINT")
    staff_token = token_pair_for_user(staff)["access"]
    connections.close_all()
    log(
        f"migrated in {migrated - started:.1f} s; {players} VIP players with {GOLD} gold, seeds,"
        f" slot config v{config.version} (no daily limit), tokens and login bodies in"
        f" {time.monotonic() - migrated:.1f} s"
    )
    return Players(
        count=players,
        tokens_path=tokens_path,
        bodies_path=bodies_path,
        user_ids=[user.pk for user in users],
        tokens=tokens,
        staff_token=staff_token,
        config_id=config.pk,
    )


def wrk_env(
    route: Route, players: Players, mode: str, connections: int, threads: int, label: str
) -> dict[str, str]:
    env = {
        "BENCH_MODE": mode,
        "BENCH_LABEL": label,
        "BENCH_THREADS": str(threads),
        "BENCH_CONNECTIONS": str(connections),
        "BENCH_METHOD": route.method,
        "BENCH_BODY": json.dumps(route.body or {}),
        "BENCH_BODIES": str(players.bodies_path) if route.per_player_body else "",
        "BENCH_IDEMPOTENCY": "1" if route.idempotent else "0",
        "BENCH_OFFSET": str(players.once_offset),
        "BENCH_KEY_PREFIX": f"{route.name}-{secrets.token_hex(6)}",
        "BENCH_TOKENS_FILE": str(players.tokens_path) if route.auth else "-",
        "BENCH_TIMEOUT": f"{route.timeout_s}s",
    }
    return env


def wrk_route(
    port: int,
    route: Route,
    players: Players,
    *,
    mode: str,
    connections: int,
    threads: int,
    seconds: int,
    label: str,
) -> dict[str, Any]:
    """One wrk run of a route; counts its 200s and, for ``once``, moves past the players used."""
    env = wrk_env(route, players, mode, connections, threads, label)
    figure = WrkRun(port, route.path, seconds, env).result()
    figure["drain_s"] = drain(port)
    ok = int(figure.get("statuses", {}).get("200", 0))
    players.ok_responses[route.name] = players.ok_responses.get(route.name, 0) + ok
    if mode == "once":  # thread t used offset + t + threads * k for k below its request count
        players.once_offset += threads * int(figure["max_thread_calls"])
    return figure


def sample_request(port: int, route: Route, players: Players) -> tuple[int, bytes]:
    """One request before the load, so a broken route fails fast with its body in the log."""
    index = players.count - 1 if route.modes == ("once",) else 0  # a once-route's last player
    headers = {"Content-Type": "application/json"}
    if route.auth:
        headers["Authorization"] = f"Bearer {players.tokens[index]}"
    if route.idempotent:
        headers["Idempotency-Key"] = f"{route.name}-sample-{secrets.token_hex(6)}"
    if route.per_player_body:
        body: str | None = players.bodies_path.read_text().splitlines()[index]
    else:
        body = None if route.method == "GET" else json.dumps(route.body or {})
    status, _, payload = http_request(port, route.method, route.path, body, headers)
    if status == 200:
        players.ok_responses[route.name] = players.ok_responses.get(route.name, 0) + 1
    return status, payload


def measure_route(
    server: str,
    description: str,
    port: int,
    route: Route,
    players: Players,
    *,
    connection_levels: list[int],
    threads: int,
    seconds: int,
    warmup: int,
) -> list[dict[str, Any]]:
    """Sample, warm up (discarded), then every connection level x mode; the raw wrk figures."""
    status, payload = sample_request(port, route, players)
    log(f"{server} {route.name}: sample {status} {payload[:200].decode(errors='replace')}")
    if status != 200:
        raise RuntimeError(f"{server}: the sample {route.name} answered {status}")
    if warmup and route.modes != ("once",):  # a once-route spends players: no warm-up
        log(f"{server} {route.name}: warm-up {warmup} s (discarded)")
        wrk_route(
            port, route, players, mode="spread", connections=connection_levels[0],
            threads=threads, seconds=warmup, label="warmup",
        )  # fmt: skip
    figures = []
    for connections in connection_levels:
        for mode in route.modes:
            label = f"{mode}-{connections}"
            log(f"{server} {route.name} {label}: {seconds} s, {threads} threads x {connections}")
            sessions_before = db_sessions()
            foreign_mark = FOREIGN.mark()
            with projection_lag.sampling() as lag:  # the workers apply the log meanwhile
                figure = wrk_route(
                    port, route, players, mode=mode, connections=connections,
                    threads=max(1, min(threads, connections)), seconds=seconds, label=label,
                )  # fmt: skip
            figure["projection_lag"] = lag
            figure["foreign_cpu_percent"] = FOREIGN.percent_since(foreign_mark)
            figure["cpu_seconds_by_part"] = FOREIGN.split_since(foreign_mark)
            figure["db_sessions_opened"] = db_sessions() - sessions_before - 1  # less our own
            figure.update(
                route=route.name, mode=mode, connections=connections,
                target=server, server=description,
            )  # fmt: skip
            figures.append(figure)
    return figures


def flags(figure: dict[str, Any]) -> list[str]:
    """Why a figure cannot be trusted as is: socket errors, or any answer that is not a 2xx."""
    found = []
    if not figure.get("requests"):
        found.append("no request completed in the window")
    if figure.get("errors"):
        found.append(f"{figure['errors']} socket errors {figure.get('socket_errors', {})}")
    unexpected = {
        status: count
        for status, count in figure.get("statuses", {}).items()
        if not status.startswith("2")
    }
    if unexpected:
        found.append(f"unexpected statuses {unexpected}")
    elif figure.get("non2xx"):
        found.append(f"{figure['non2xx']} non-2xx")
    if figure.get("mode") == "once" and unexpected.get("409"):
        found.append("more claims than unclaimed players: raise --players")
    return found


def figure_line(
    figure: dict[str, Any], reference: dict[str, dict[str, Any]], common: dict[str, Any]
) -> dict[str, Any]:
    ceiling_name = "ceiling-hot" if figure["mode"] == "hot" else "ceiling-spread"
    ceiling = reference[ceiling_name]
    found = flags(figure)
    return {
        **common,
        "kind": "figure",
        "route": figure["route"],
        "target": figure["target"],
        "label": figure["label"],
        "mode": figure["mode"],
        "connections": figure["connections"],
        "rps": figure["rps"],
        "p50_ms": figure["p50_ms"],
        "p90_ms": figure["p90_ms"],
        "p99_ms": figure["p99_ms"],
        "non2xx": figure["non2xx"],
        "errors": figure["errors"],
        "statuses": figure["statuses"],
        "replayed": figure.get("replayed", 0),
        "ok": not found,
        "flags": found,
        "ratio_to_ceiling_rps": round(figure["rps"] / ceiling["rps"], 3),
        "ratio_to_ceiling_p99": round(figure["p99_ms"] / ceiling["p99_ms"], 2),
        "ceiling": f"{ceiling_name}: the reference's slot spin, 32 connections",
        "ceiling_rps": ceiling["rps"],
        "ceiling_p99_ms": ceiling["p99_ms"],
        "server": figure["server"],
        "requests": figure["requests"],
        "drain_s": figure.get("drain_s"),
        "db_sessions_opened": figure.get("db_sessions_opened"),
        "foreign_cpu_percent": figure["foreign_cpu_percent"],
        "cpu_ms_per_request": cpu_ms_per_request(
            figure.get("cpu_seconds_by_part", {}), figure["requests"]
        ),
        "samples": figure.get("samples", {}),
        "projection_lag": figure.get("projection_lag", {}),
    }


def cpu_ms_per_request(seconds_by_part: dict[str, float], requests: int) -> dict[str, float]:
    """Where a figure's cores went: our processes' CPU over its window by part, in milliseconds
    per completed request (the load generator's and the bench's own included, as parts)."""
    if not requests:
        return {}
    return {part: round(seconds * 1000 / requests, 2) for part, seconds in seconds_by_part.items()}


def stored_counts(players: Players) -> dict[str, int]:
    """Rows the measured routes stored: slot rounds, successful purchases, streak claims."""
    from django.db import connections

    from games.models import GameRound
    from gamification.models import StreakClaim
    from shop.models import Purchase

    counts = {
        "spin": GameRound.objects.filter(config_id=players.config_id).count(),
        "buy": Purchase.objects.filter(status="success").count(),
        "streak": StreakClaim.objects.count(),
    }
    connections.close_all()
    return counts
