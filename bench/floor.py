"""The framework floor: the reference's spin transaction, served by our stack.

``POST /bench/floor/spin`` exists only on the bench servers (``bench.settings`` mounts this
URLconf in front of the product's). It runs what the reference harness's raw-ASGI app runs — one
wallet row lock, the seed's nonce, the HMAC outcome, the balance update, one ledger entry, one
round row, a bare Redis PUBLISH after commit — but through gunicorn, Django's middleware, DRF and
simplejwt (the product's authentication, with its user lookup), the ORM's connection and psycopg.

So the bench can split the gap between the product's spin and the reference into what the
framework costs (reference → floor) and what the product's own work costs (floor → spin: daily
limit, idempotent replay store, responsible-play checks, stats, leaderboards, XP, achievements,
missions, events, stored socket messages). None of the product's rules apply here: it is a
yardstick, never a route of the product.
"""

from __future__ import annotations

import json
from typing import Any

import redis
from django.conf import settings
from django.db import connection, transaction
from django.http import HttpResponse, JsonResponse
from django.urls import include, path
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.authentication import PlayerJWTAuthentication
from games.engine import FairRng
from games.engine.slot import DEFAULT_SLOT_CONFIG, slot_spin

_publisher = redis.Redis.from_url(settings.REDIS_URL)
_config_id: list[int] = []  # the default slot configuration (version 1), looked up once


def _default_config_id(cursor: Any) -> int:
    if not _config_id:
        cursor.execute("SELECT id FROM games_gameconfig WHERE game = 'slot' AND version = 1")
        _config_id.append(cursor.fetchone()[0])
    return _config_id[0]


class FloorSpinView(APIView):
    authentication_classes = [PlayerJWTAuthentication]
    permission_classes = [IsAuthenticated]

    def post(self, request: Request) -> HttpResponse:
        bet = request.data.get("bet") if isinstance(request.data, dict) else None
        if isinstance(bet, bool) or not isinstance(bet, int) or not 1 <= bet <= 1_000_000:
            return JsonResponse({"error": "bad bet"}, status=400)
        user_id = request.user.pk
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT balance FROM accounts_wallet WHERE user_id = %s FOR UPDATE", [user_id]
            )
            (balance,) = cursor.fetchone()
            cursor.execute(
                "UPDATE games_fairseed SET nonce = nonce + 1 WHERE user_id = %s AND is_active"
                " RETURNING id, server_seed, client_seed, nonce - 1",
                [user_id],
            )
            seed_id, server_seed, client_seed, nonce = cursor.fetchone()
            if balance < bet:
                transaction.set_rollback(True)
                return JsonResponse({"error": "insufficient gold"}, status=409)
            rng = FairRng(bytes(server_seed), client_seed, nonce)
            outcome = slot_spin(DEFAULT_SLOT_CONFIG, rng)
            payout = outcome.payout(bet)
            delta = payout - bet
            balance += delta
            key = request.headers.get("Idempotency-Key") or f"floor:{seed_id}:{nonce}"
            cursor.execute(
                "UPDATE accounts_wallet SET balance = %s, updated_at = now() WHERE user_id = %s",
                [balance, user_id],
            )
            if delta:  # the ledger refuses a zero delta; a push changes nothing
                cursor.execute(
                    "INSERT INTO accounts_ledgerentry (wallet_id, delta, balance_after, reason,"
                    " reference, idempotency_key, created_at)"
                    " VALUES (%s, %s, %s, %s, %s, %s, now())",
                    [user_id, delta, balance, "game_win" if delta > 0 else "game_bet",
                     f"floor:{seed_id}:{nonce}", key],
                )  # fmt: skip
            cursor.execute(
                "INSERT INTO games_gameround (user_id, game, config_id, fair_seed_id, nonce, bet,"
                " payout, multiplier_x100, outcome, params, state, created_at, settled_at)"
                " VALUES (%s, 'slot', %s, %s, %s, %s, %s, %s, %s, '{}', 'settled', now(), now())",
                [user_id, _default_config_id(cursor), seed_id, nonce, bet, payout,
                 outcome.multiplier_x100, json.dumps({"reels": list(outcome.reels)})],
            )  # fmt: skip
        message = {"balance": balance, "reels": list(outcome.reels), "payout": payout}
        _publisher.publish(f"user.{user_id}", json.dumps(message))
        return JsonResponse({**message, "nonce": nonce})


urlpatterns = [
    path("bench/floor/spin", FloorSpinView.as_view()),
    path("", include("casinoclub.urls")),
]
