"""The economy model check: seeded concurrent clients over HTTP and an auditor of every wallet.

``run_model(seed, operations)`` signs players up over HTTP and starts ``THREADS`` clients, each
with its own ``APIClient`` and a player of its own, except the last ``SHARED_THREADS``, which
share a player with another client to contend for one wallet. Every client plays a sequence of
operations drawn from ``random.Random(f"{seed}:{thread}")``: rounds of every game, shop buys
settled through the signed webhook or the settle route, claims, staff grants and revokes, staff
refunds through the admin action, chargebacks the provider reports (``purchase_reverse``), refused
refunds of gold-priced items, requests replayed with the same ``Idempotency-Key``
(sequentially and concurrently), the same key with a different request, and requests that must be
refused. The plan of each client is fixed by the seed; the interleaving of the clients is not.

The ``Auditor`` predicts every balance from the responses alone: a round's ``payout - bet``, a
gold-priced item's price, a claim's ``reward_gold``, a grant's ``delta``, a gold pack's gold once
the purchase list says it succeeded. Rewards the server pays inside other requests are predicted
from what the player can read at the end: every level reached pays ``LEVEL_UP_GOLD_PER_LEVEL ×
level`` (``GET /api/users/me``), every unlocked achievement its ``reward_gold``
(``GET /api/achievements/me``). The one figure no response carries is a refund's clawback when the
balance was short (the purchase is flagged ``needs_review``): it is read from that refund's ledger
entry, which must then have taken less than the pack's gold and left the wallet at zero.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import random  # noqa: TID251  # the test's own seeded operation plan, not a game outcome
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User

THREADS = 12
SHARED_THREADS = 4  # the last clients share the first players' wallets
PLAYERS = THREADS - SHARED_THREADS
SMALL_BETS = (10, 20, 50, 100, 250)


# ---------------------------------------------------------------- the auditor


@dataclass
class Step:
    """One request as the log shows it."""

    sequence: int
    thread: int
    player: int
    operation: str
    key: str | None
    status: int
    note: str
    delta: int | None = None

    def line(self) -> str:
        delta = "" if self.delta is None else f" delta={self.delta:+d}"
        key = f" key={self.key}" if self.key else ""
        return (
            f"#{self.sequence:05d} t{self.thread:02d} {self.operation}{key}"
            f" -> {self.status}{delta} {self.note}"
        )


@dataclass
class Receipt:
    user_id: int
    gold: int
    flow: str
    expected: set[str] = field(default_factory=set)  # final statuses the responses allow


class Auditor:
    """Predicts every wallet from HTTP responses; collects every protocol violation."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._lock = threading.Lock()
        self._sequence = itertools.count(1)
        self.opening: dict[int, int] = {}
        self.deltas: dict[int, list[tuple[str, int]]] = {}
        self.log: dict[int, list[Step]] = {}
        self.violations: list[tuple[int | None, str]] = []
        self.keys: dict[int, set[str]] = {}  # (requesting user) → keys that succeeded
        self.rounds: dict[int, set[int]] = {}
        self.crash_rounds: dict[int, tuple[int, int]] = {}  # round id → (user, bet)
        self.crash_cashouts: dict[int, int] = {}  # round id → payout a cash-out response showed
        self.receipts: dict[str, Receipt] = {}
        self.refunds: dict[str, tuple[int, bool]] = {}  # receipt → (user, gold short)
        self.balances_seen: list[tuple[int, int]] = []
        self.counts: dict[str, int] = {}

    def open_wallet(self, user_id: int, gold: int) -> None:
        with self._lock:
            self.opening[user_id] = gold
            self.deltas[user_id] = []
            self.log[user_id] = []
            self.keys.setdefault(user_id, set())
            self.rounds[user_id] = set()

    def step(
        self,
        thread: int,
        player: int,
        operation: str,
        key: str | None,
        status: int,
        note: str = "",
        delta: int | None = None,
    ) -> None:
        with self._lock:
            sequence = next(self._sequence)
            self.log[player].append(
                Step(sequence, thread, player, operation, key, status, note, delta)
            )
            self.counts[f"{operation} {status}"] = self.counts.get(f"{operation} {status}", 0) + 1
            if delta:
                self.deltas[player].append((operation, delta))

    def violation(self, player: int | None, message: str) -> None:
        with self._lock:
            self.violations.append((player, message))

    def key_succeeded(self, requester: int, key: str) -> None:
        with self._lock:
            self.keys.setdefault(requester, set()).add(key)

    def balance_seen(self, player: int, balance: Any) -> None:
        if not isinstance(balance, int) or balance < 0:
            self.violation(player, f"a response showed the balance {balance!r}")
        with self._lock:
            self.balances_seen.append((player, balance))

    def round_seen(self, player: int, round_id: int) -> None:
        with self._lock:
            self.rounds[player].add(round_id)

    def receipt_seen(self, receipt: str, user_id: int, gold: int, flow: str) -> None:
        with self._lock:
            self.receipts.setdefault(receipt, Receipt(user_id, gold, flow))

    def receipt_expect(self, receipt: str, statuses: set[str]) -> None:
        with self._lock:
            self.receipts[receipt].expected.add("|".join(sorted(statuses)))

    def predicted(self, user_id: int) -> int:
        return self.opening[user_id] + sum(delta for _, delta in self.deltas[user_id])

    def report(self, user_id: int | None) -> str:
        """The seed and the operation log of one player (every player's when ``None``)."""
        players = [user_id] if user_id is not None else sorted(self.log)
        lines = [f"economy model seed={self.seed} (replay: ECONOMY_MODEL_SEEDS={self.seed})"]
        for player in players:
            lines.append(f"player {player}: opening {self.opening.get(player)}")
            lines.extend(step.line() for step in self.log.get(player, []))
        return "\n".join(lines)


# ---------------------------------------------------------------- the world the clients share


@dataclass
class World:
    seed: int
    players: list[int]
    tokens: dict[int, str]
    staff: User
    staff_token: str
    mission_ids: list[int]
    event_id: int
    pack_code: str
    item_code: str
    package_code: str
    package_item: str  # the item only the limited package grants
    purchase_mission_id: int


def signup(seed: int, index: int) -> dict[str, Any]:
    body = {
        "site_id": f"eco{seed % 100000}p{index:02d}",
        "nickname": f"Eco{seed % 100000}P{index:02d}",
        "phone_number": f"010{seed % 10000:04d}{index:04d}",
        "password": "Str0ng-passw0rd!",
        "invite_code": settings.MASTER_INVITE_CODE,
        "birth_date": "1990-01-01",
    }
    response = APIClient(raise_request_exception=False).post(
        "/api/auth/signup", body, format="json"
    )
    assert response.status_code == 201, response.content
    data: dict[str, Any] = response.json()
    return data


def _json(response: Any) -> dict[str, Any]:
    try:
        data = json.loads(response.content)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _error_code(response: Any) -> str:
    error = _json(response).get("error")
    return str(error.get("code")) if isinstance(error, dict) else ""


# ---------------------------------------------------------------- one keyed request


@dataclass
class Call:
    """A gold-moving request: its route, body, who sends it and how its response moves gold."""

    operation: str
    path: str
    body: dict[str, Any]
    player: int  # the wallet it may change
    effect: Callable[[dict[str, Any]], tuple[int, str]]  # response → (delta, note)
    as_staff: bool = False
    accepted: frozenset[str] = frozenset()  # error codes that are a legitimate refusal


class ModelClient:
    """One concurrent client: an API client for its player, one for staff, an admin session."""

    def __init__(self, world: World, auditor: Auditor, thread: int, player: int) -> None:
        self.world = world
        self.auditor = auditor
        self.thread = thread
        self.player = player
        self.random = random.Random(f"{world.seed}:{thread}")
        self.keys = itertools.count(1)
        self.last: tuple[Call, str, bytes] | None = None  # the last call that succeeded

    # -- plumbing

    def api(self, user_id: int | None = None) -> APIClient:
        client = APIClient(raise_request_exception=False)
        token = self.world.staff_token if user_id is None else self.world.tokens[user_id]
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    def new_key(self) -> str:
        return f"eco-{self.world.seed}-t{self.thread:02d}-{next(self.keys):05d}"

    def send(self, call: Call, key: str) -> Any:
        client = self.api(None if call.as_staff else self.player)
        return client.post(call.path, call.body, format="json", HTTP_IDEMPOTENCY_KEY=key)

    def requester(self, call: Call) -> int:
        return self.world.staff.pk if call.as_staff else self.player

    def settle(
        self, call: Call, key: str, response: Any, *, replay_of: bytes | None = None
    ) -> None:
        """Check one response of ``call`` and record its effect unless it is a replay."""
        status = response.status_code
        if status >= 500:
            self.auditor.violation(
                call.player, f"{call.operation} {key}: {status} (a 500 is a bug)"
            )
            self.auditor.step(self.thread, call.player, call.operation, key, status, "5xx")
            return
        replayed = response.get("Idempotent-Replayed") == "true"
        if status != 200:
            code = _error_code(response)
            if code not in call.accepted:
                self.auditor.violation(
                    call.player, f"{call.operation} {key}: unexpected {status} {code}"
                )
            self.auditor.step(self.thread, call.player, call.operation, key, status, code)
            return
        if replay_of is not None or replayed:
            if replay_of is not None and response.content != replay_of:
                self.auditor.violation(call.player, f"{call.operation} {key}: replay differs")
            if not replayed:
                self.auditor.violation(call.player, f"{call.operation} {key}: second effect")
            self.auditor.step(self.thread, call.player, call.operation, key, status, "replayed")
            return
        data = _json(response)
        if "balance" in data:
            self.auditor.balance_seen(call.player, data["balance"])
        delta, note = call.effect(data)
        self.auditor.key_succeeded(self.requester(call), key)
        self.auditor.step(self.thread, call.player, call.operation, key, status, note, delta)
        self.last = (call, key, response.content)

    def call(self, call: Call) -> dict[str, Any] | None:
        key = self.new_key()
        response = self.send(call, key)
        self.settle(call, key, response)
        return _json(response) if response.status_code == 200 else None

    # -- effects

    def play_effect(self, player: int) -> Callable[[dict[str, Any]], tuple[int, str]]:
        def effect(data: dict[str, Any]) -> tuple[int, str]:
            round_ = data["round"]
            self.auditor.round_seen(player, round_["id"])
            if round_["game"] == "crash":
                self.auditor.crash_rounds[round_["id"]] = (player, round_["bet"])
                return -round_["bet"], f"crash round {round_['id']} open"
            if round_["state"] != "settled":
                self.auditor.violation(player, f"round {round_['id']} not settled")
            note = f"round {round_['id']} bet {round_['bet']} payout {round_['payout']}"
            return round_["payout"] - round_["bet"], note

        return effect

    def reward_effect(self, data: dict[str, Any]) -> tuple[int, str]:
        gold = data["reward_gold"] if "reward_gold" in data else data["reward"]["gold"]
        return int(gold), f"reward {gold}"

    # -- calls

    def bet_call(self, game: str, bet: int, player: int | None = None) -> Call:
        player = self.player if player is None else player
        refusals = frozenset({"insufficient_funds", "daily_limit_reached", "bet_out_of_range"})
        if game == "slot":
            return Call("slot", "/api/games/slot/spin", {"bet": bet}, player,
                        self.play_effect(player), accepted=refusals)  # fmt: skip
        choice = self.random.choice(["rock", "paper", "scissors"])
        return Call("rps", "/api/games/rps/play", {"bet": bet, "choice": choice}, player,
                    self.play_effect(player), accepted=refusals)  # fmt: skip

    def gacha_call(self) -> Call:
        count = self.random.choice([1, 1, 10])
        return Call(
            f"gacha{count}", "/api/games/gacha/pull", {"count": count}, self.player,
            self.play_effect(self.player),
            accepted=frozenset({"insufficient_funds", "daily_limit_reached"}),
        )  # fmt: skip

    def item_call(self) -> Call:
        def effect(data: dict[str, Any]) -> tuple[int, str]:
            purchase = data["purchase"]
            if purchase["status"] != "success" or purchase["flow"] != "item":
                self.auditor.violation(self.player, f"item purchase {purchase}")
            self.auditor.receipt_seen(purchase["receipt"], self.player, 0, "item")
            self.auditor.receipt_expect(purchase["receipt"], {"success"})
            return -purchase["price"], f"item {purchase['receipt']}"

        return Call("buy-item", "/api/shop/buy", {"product_code": self.world.item_code},
                    self.player, effect, accepted=frozenset({"insufficient_funds"}))  # fmt: skip

    def grant_call(self, target: int, amount: int) -> Call:
        def effect(data: dict[str, Any]) -> tuple[int, str]:
            if data["user_id"] != target or data["delta"] != amount:
                self.auditor.violation(target, f"grant answered {data}")
            return int(data["delta"]), f"staff {data['reason']} ledger {data['id']}"

        return Call(
            "staff-grant" if amount > 0 else "staff-revoke",
            f"/api/admin/users/{target}/gold",
            {"amount": amount, "reason": "economy model"},
            target, effect, as_staff=True, accepted=frozenset({"insufficient_funds"}),
        )  # fmt: skip

    # -- operations

    def op_slot(self) -> None:
        self.call(self.bet_call("slot", self.random.choice(SMALL_BETS)))

    def op_rps(self) -> None:
        self.call(self.bet_call("rps", self.random.choice(SMALL_BETS)))

    def op_gacha(self) -> None:
        self.call(self.gacha_call())

    def op_crash(self) -> None:
        body: dict[str, Any] = {"bet": self.random.choice(SMALL_BETS)}
        if self.random.random() < 0.5:
            body["auto_cashout"] = self.random.choice([1.5, 2.0, 10.0])
        refusals = frozenset({"insufficient_funds", "already_bet", "daily_limit_reached"})
        data = self.call(Call("crash-bet", "/api/games/crash/bet", body, self.player,
                              self.play_effect(self.player), accepted=refusals))  # fmt: skip
        if data is not None and self.random.random() < 0.8:
            self.cashout(data["round"]["id"], self.player)

    def cashout(self, round_id: int, player: int) -> None:
        def effect(data: dict[str, Any]) -> tuple[int, str]:
            round_ = data["round"]
            self.auditor.crash_cashouts[round_id] = round_["payout"]
            return 0, f"crash round {round_id} settled, payout {round_['payout']} (at the end)"

        self.call(Call("crash-cashout", "/api/games/crash/cashout", {"round_id": round_id},
                       player, effect,
                       accepted=frozenset({"round_settled", "round_not_running"})))  # fmt: skip

    def op_buy_item(self) -> None:
        self.call(self.item_call())

    def op_buy_pack(self) -> None:
        self.buy_money("buy-pack", "/api/shop/buy", {"product_code": self.world.pack_code})

    def op_buy_limited(self) -> None:
        self.buy_money(
            "buy-limited", "/api/shop/buy-limited", {"package_code": self.world.package_code}
        )

    def buy_money(self, operation: str, path: str, body: dict[str, Any]) -> None:
        def effect(data: dict[str, Any]) -> tuple[int, str]:
            purchase = data["purchase"]
            if purchase["status"] != "pending":
                self.auditor.violation(self.player, f"{operation} not pending: {purchase}")
            self.auditor.receipt_seen(
                purchase["receipt"], self.player, purchase["gold"], purchase["flow"]
            )
            return 0, f"{purchase['receipt']} pending, gold {purchase['gold']} when it succeeds"

        refusals = frozenset({"out_of_stock", "per_user_limit"})
        data = self.call(Call(operation, path, body, self.player, effect, accepted=refusals))
        if data is None:
            return
        receipt = data["purchase"]["receipt"]
        how = self.random.choice(["webhook", "webhook", "webhook-twice", "fail", "settle", "none"])
        if how == "none":
            return
        if how == "settle":
            response = self.api(self.player).post(f"/api/shop/transactions/{receipt}/settle")
            status = response.json()["purchase"]["status"] if response.status_code == 200 else ""
            if response.status_code != 200 or status not in ("success", "refunded"):
                self.auditor.violation(self.player, f"settle {receipt}: {response.status_code}")
            self.auditor.receipt_expect(receipt, {"success", "refunded"})
            self.auditor.step(self.thread, self.player, "settle", None, response.status_code,
                              f"{receipt} {status}")  # fmt: skip
            return
        kind = "payment.failed" if how == "fail" else "payment.succeeded"
        event_id = f"evt-{receipt}"
        nonce = f"n-{receipt}"
        self.webhook(receipt, kind, event_id, nonce, "processed")
        if how == "webhook-twice":
            self.webhook(receipt, kind, event_id, f"{nonce}-again", "duplicate")
            self.webhook(receipt, kind, f"{event_id}-other", nonce, "replayed_nonce")

    def webhook(self, receipt: str, kind: str, event_id: str, nonce: str, expected: str) -> None:
        body = json.dumps({"event_id": event_id, "type": kind, "receipt": receipt}).encode()
        timestamp = str(int(time.time()))
        signature = hmac.new(
            settings.PAYMENT_WEBHOOK_SECRET.encode(),
            f"{timestamp}.{nonce}.".encode() + body,
            hashlib.sha256,
        ).hexdigest()
        response = APIClient(raise_request_exception=False).post(
            "/api/shop/webhook/payment", body, content_type="application/json",
            HTTP_X_WEBHOOK_TIMESTAMP=timestamp, HTTP_X_WEBHOOK_NONCE=nonce,
            HTTP_X_WEBHOOK_SIGNATURE=signature,
        )  # fmt: skip
        answer = _json(response).get("status") or _error_code(response)
        if answer != expected:
            self.auditor.violation(
                self.player, f"webhook {kind} {receipt}: {answer}, not {expected}"
            )
        if answer == "processed":
            final = {"failed"} if kind == "payment.failed" else {"success", "refunded"}
            self.auditor.receipt_expect(receipt, final)
        self.auditor.step(self.thread, self.player, f"webhook {kind}", None, response.status_code,
                          f"{receipt} {answer}")  # fmt: skip

    def op_streak(self) -> None:
        self.call(Call("streak-claim", "/api/streak/claim", {}, self.player, self.reward_effect,
                       accepted=frozenset({"already_claimed"})))  # fmt: skip

    def op_vip(self) -> None:
        self.call(Call("vip-claim", "/api/vip/claim", {}, self.player, self.reward_effect,
                       accepted=frozenset({"already_claimed"})))  # fmt: skip

    def op_battle_pass(self) -> None:
        body = {"tier": self.random.randint(1, 4), "track": self.random.choice(["free", "premium"])}
        refusals = frozenset(
            {"already_claimed", "tier_locked", "premium_required", "tier_not_found"}
        )
        self.call(Call("battle-pass", "/api/battle-pass/claim", body, self.player,
                       self.reward_effect, accepted=refusals))  # fmt: skip

    def op_event(self) -> None:
        event_id = self.world.event_id
        if self.random.random() < 0.5:
            self.call(Call("event-join", "/api/events/join", {"event_id": event_id}, self.player,
                           lambda data: (0, "joined")))  # fmt: skip
            return
        refusals = frozenset({"not_joined", "not_completed", "already_claimed"})
        self.call(Call("event-claim", f"/api/events/claim/{event_id}", {}, self.player,
                       self.reward_effect, accepted=refusals))  # fmt: skip

    def op_mission(self) -> None:
        mission_id = self.random.choice(self.world.mission_ids)
        self.call(Call("mission-claim", f"/api/events/missions/claim/{mission_id}", {},
                       self.player, self.reward_effect,
                       accepted=frozenset({"not_completed", "already_claimed"})))  # fmt: skip

    def op_staff_grant(self) -> None:
        target = self.random.choice(self.world.players)
        amount = self.random.choice([100, 500, 2000, -50, -300, -5000])
        self.call(self.grant_call(target, amount))

    def reversible(self) -> str | None:
        """A money purchase the responses allow to have succeeded, chosen at random."""
        with self.auditor._lock:
            refundable = sorted(
                receipt for receipt, facts in self.auditor.receipts.items()
                if facts.gold and "refunded|success" in facts.expected
            )  # fmt: skip
        return self.random.choice(refundable) if refundable else None

    def op_staff_refund(self) -> None:
        receipt = self.reversible()
        if receipt is None:
            return
        facts = self.auditor.receipts[receipt]
        admin = Client(raise_request_exception=False)
        admin.force_login(self.world.staff)
        from shop.selectors import purchase_get_for_user

        purchase = purchase_get_for_user(facts.user_id, receipt)
        assert purchase is not None
        response = admin.post(
            "/admin/shop/purchase/",
            {"action": "refund", "_selected_action": [purchase.pk], "reason": "economy model"},
            follow=True,
        )
        # The page, not ``response.context``: the test client collects contexts through a
        # process-wide signal, so another thread's admin page could answer for this one.
        page = response.content.decode()
        found = re.search(rf"Refunded {receipt}(?: \(flagged for review: ([a-z_, ]+)\))?\.", page)
        done = found is not None
        flagged = found is not None and "gold_shortfall" in (found.group(1) or "")
        if response.status_code != 200:
            self.auditor.violation(facts.user_id, f"refund {receipt}: {response.status_code}")
        if done:
            with self.auditor._lock:
                self.auditor.refunds.setdefault(receipt, (facts.user_id, flagged))
        self.auditor.step(self.thread, facts.user_id, "staff-refund", None, response.status_code,
                          f"{receipt} {'flagged' if flagged else 'refunded' if done else 'not refunded'}")  # fmt: skip

    def op_dispute(self) -> None:
        """The payment provider reports a chargeback: ``purchase_reverse`` as its webhook calls
        it (kind dispute, source provider, no staff member), at any moment — also while staff
        refund the same purchase or the purchase is still pending."""
        receipt = self.reversible()
        if receipt is None:
            return
        facts = self.auditor.receipts[receipt]
        from shop import services
        from shop.exceptions import IllegalTransition
        from shop.selectors import purchase_get_for_user

        purchase = purchase_get_for_user(facts.user_id, receipt)
        assert purchase is not None
        try:
            reversed_ = services.purchase_reverse(
                purchase.pk, kind="dispute", source="provider", actor=None, reason="chargeback"
            )
        except IllegalTransition:  # not settled yet: the provider cannot dispute it
            self.auditor.step(self.thread, facts.user_id, "dispute", None, 409, receipt)
            return
        flagged = "gold_shortfall" in reversed_.review_reasons
        with self.auditor._lock:
            self.auditor.refunds.setdefault(receipt, (facts.user_id, flagged))
        self.auditor.step(self.thread, facts.user_id, "dispute", None, 200,
                          f"{receipt} {'flagged' if flagged else 'reversed'}")  # fmt: skip

    def op_refund_item(self) -> None:
        """Staff try to refund a gold-priced item purchase: refused, nothing changes."""
        with self.auditor._lock:
            items = sorted(r for r, f in self.auditor.receipts.items() if f.flow == "item")
        if not items:
            return
        receipt = self.random.choice(items)
        facts = self.auditor.receipts[receipt]
        admin = Client(raise_request_exception=False)
        admin.force_login(self.world.staff)
        from shop.selectors import purchase_get_for_user

        purchase = purchase_get_for_user(facts.user_id, receipt)
        assert purchase is not None
        response = admin.post(
            "/admin/shop/purchase/",
            {"action": "refund", "_selected_action": [purchase.pk], "reason": "economy model"},
            follow=True,
        )
        if f"{receipt}: Gold-priced item purchases are final" not in response.content.decode():
            self.auditor.violation(facts.user_id, f"item refund {receipt} was not refused")
        self.auditor.step(self.thread, facts.user_id, "refund-item", None, response.status_code,
                          f"{receipt} refused")  # fmt: skip

    def op_replay(self) -> None:
        """The last successful request again, same key and body: the stored bytes, no effect."""
        if self.last is None:
            return
        call, key, content = self.last
        self.settle(call, key, self.send(call, key), replay_of=content)

    def op_mismatch(self) -> None:
        """The last key with another request: 422 ``idempotency_mismatch``, no effect."""
        if self.last is None:
            return
        call, key, _ = self.last
        if call.as_staff:
            other = self.grant_call(call.player, 1)
        elif call.path == "/api/games/slot/spin":
            other = self.bet_call("rps", 10)
        else:
            other = self.bet_call("slot", 10)
        other.accepted = frozenset({"idempotency_mismatch"})
        response = self.send(other, key)
        if response.status_code != 422:
            self.auditor.violation(other.player, f"mismatch {key}: {response.status_code}")
        self.settle(other, key, response)

    def op_concurrent_duplicate(self) -> None:
        """One new request sent twice at the same instant with one key: one effect at most."""
        choice = self.random.choice(["slot", "gacha", "item", "grant", "streak"])
        if choice == "slot":
            call = self.bet_call("slot", self.random.choice(SMALL_BETS))
        elif choice == "gacha":
            call = self.gacha_call()
        elif choice == "item":
            call = self.item_call()
        elif choice == "grant":
            call = self.grant_call(self.player, self.random.choice([100, 250]))
        else:
            call = Call("streak-claim", "/api/streak/claim", {}, self.player, self.reward_effect,
                        accepted=frozenset({"already_claimed"}))  # fmt: skip
        key = self.new_key()
        barrier = threading.Barrier(2)
        responses: list[Any] = [None, None]

        def send(index: int) -> None:
            try:
                barrier.wait()
                responses[index] = self.send(call, key)
            finally:
                connection.close()

        threads = [threading.Thread(target=send, args=(index,)) for index in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        firsts = [r for r in responses if r.status_code == 200 and not r.get("Idempotent-Replayed")]
        if len(firsts) > 1:
            self.auditor.violation(call.player, f"{call.operation} {key}: applied twice")
        originals = firsts[0].content if firsts else None
        call.accepted = call.accepted | {"idempotency_in_progress"}
        ordered = sorted(responses, key=lambda r: bool(r.get("Idempotent-Replayed")))
        for response in ordered:
            replay_of = originals if response.get("Idempotent-Replayed") else None
            if replay_of is None and response.get("Idempotent-Replayed") and originals is None:
                self.auditor.violation(call.player, f"{call.operation} {key}: replay of nothing")
            self.settle(call, key, response, replay_of=replay_of)

    def op_bad_bet(self) -> None:
        """A bet of one more than the balance just read: refused unless gold arrived meanwhile."""
        gold = self.api(self.player).get("/api/users/me").json()["gold"]
        self.call(self.bet_call("slot", gold + 1))

    def op_bad_product(self) -> None:
        call = Call("buy-unknown", "/api/shop/buy", {"product_code": "no-such-product"},
                    self.player, lambda data: (0, "bought nothing?"),
                    accepted=frozenset({"not_found"}))  # fmt: skip
        key = self.new_key()
        response = self.send(call, key)
        if response.status_code != 404:
            self.auditor.violation(self.player, f"unknown product: {response.status_code}")
        self.settle(call, key, response)

    def op_bad_body(self) -> None:
        call = Call("slot-bad-body", "/api/games/slot/spin", {"bet": 0, "gold": 10**6},
                    self.player, lambda data: (0, "spun?"),
                    accepted=frozenset({"validation_error"}))  # fmt: skip
        key = self.new_key()
        response = self.send(call, key)
        if response.status_code != 400:
            self.auditor.violation(self.player, f"bad body: {response.status_code}")
        self.settle(call, key, response)


OPERATIONS: dict[str, int] = {  # name → weight
    "slot": 14,
    "rps": 4,
    "gacha": 5,
    "crash": 6,
    "buy_item": 4,
    "buy_pack": 5,
    "buy_limited": 3,
    "streak": 2,
    "vip": 2,
    "battle_pass": 3,
    "event": 3,
    "mission": 3,
    "staff_grant": 5,
    "staff_refund": 3,
    "dispute": 2,
    "refund_item": 1,
    "replay": 6,
    "mismatch": 3,
    "concurrent_duplicate": 4,
    "bad_bet": 3,
    "bad_product": 1,
    "bad_body": 1,
}


def plan(rng: random.Random, count: int) -> list[str]:
    names = list(OPERATIONS)
    return rng.choices(names, weights=[OPERATIONS[name] for name in names], k=count)


def run_clients(world: World, auditor: Auditor, operations: int) -> None:
    """Run ``operations`` operations spread over ``THREADS`` clients started together."""
    per_thread = max(1, operations // THREADS)
    clients = [
        ModelClient(world, auditor, thread, world.players[thread % PLAYERS])
        for thread in range(THREADS)
    ]
    barrier = threading.Barrier(THREADS)

    def work(client: ModelClient) -> None:
        try:
            steps = plan(client.random, per_thread)
            barrier.wait()
            for name in steps:
                try:
                    getattr(client, f"op_{name}")()
                except Exception as error:  # a crash of the client is a finding, not a hang
                    auditor.violation(client.player, f"{name} raised {error!r}")
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
