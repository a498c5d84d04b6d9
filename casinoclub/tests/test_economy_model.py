"""The economy model check (SPEC §4): concurrent random play whose every balance is predicted.

Each seed signs up players over HTTP, runs ``THREADS`` concurrent clients through a seeded plan of
rounds, purchases, claims, staff grants and refunds, replays and refused requests
(``casinoclub/tests/economy_model.py``), then reconciles: the auditor's prediction equals every
wallet, ``check_ledger`` passes, every wallet equals the sum of its ledger, no balance was ever
negative and every idempotency key made exactly one effect.

More seeds or operations locally::

    ECONOMY_MODEL_SEEDS=7,8,9 ECONOMY_MODEL_OPERATIONS=1000 make test \\
        PYTEST_ARGS="casinoclub/tests/test_economy_model.py -p no:randomly"
"""

from __future__ import annotations

import io
import os
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import InventoryItem, LedgerEntry
from accounts.selectors import ledger_violations, wallet_balance
from accounts.tokens import token_pair_for_user
from casinoclub.models import IdempotencyRecord
from casinoclub.tests.economy_model import PLAYERS, Auditor, World, run_clients, signup
from casinoclub.tests.projection_helpers import caught_up
from events.models import Event, Mission, MissionProgress
from events.periods import period_start
from events.tests.factories import EventFactory, MissionFactory
from games import services as game_services
from games.defaults import DAILY_LIMITS, default_engine
from games.models import CrashRound, GameConfig
from games.tests.crash_helpers import chain_where_first_round
from gamification.models import Achievement, PlayerProgress, Season, StreakReward, VipClaim
from gamification.selectors import vip_rank_for_points
from gamification.tests.factories import AchievementFactory, SeasonFactory, TierFactory
from shop.models import Purchase
from shop.tests.factories import GoldPackFactory, ItemFactory, LimitedPackageFactory

pytestmark = pytest.mark.django_db(transaction=True)

DEFAULT_SEEDS = [20240601]
# Seeds that once failed, each with the defect it found; they run on every build. The plan of a
# seed is fixed but the interleaving of the clients is not, so a seed makes its race likely, not
# certain.
REGRESSION_SEEDS: list[int] = [
    2,  # two crash bets of one player: 500 on the one-open-round constraint; and a deadlock of a
    #     bet settling a due round (wallet) against a spin (seed) → crash_bet locks the seed first
    3,  # vip claim (wallet → message cursor) deadlocked with a busted crash cash-out
    #     (stats, cursor → wallet) → _crash_finish locks the wallet first
    4,  # crash cash-out deadlocked on games_fairseed: select_for_update with select_related locked
    #     the seed and the shared crash config row too → select_for_update(of=("self",))
    6,  # mission claim (wallet → mission progress) against a busted crash cash-out, as seed 3
]
DEFAULT_OPERATIONS = 240


def _env_ints(name: str) -> list[int]:
    return [int(part) for part in os.environ.get(name, "").split(",") if part.strip()]


SEEDS = _env_ints("ECONOMY_MODEL_SEEDS") or [*DEFAULT_SEEDS, *REGRESSION_SEEDS]
OPERATIONS = (_env_ints("ECONOMY_MODEL_OPERATIONS") or [DEFAULT_OPERATIONS])[0]


def build_world(seed: int, staff: Any, auditor: Auditor) -> World:
    """The catalog staff would set up in admin, and players who sign up over HTTP."""
    for game in ("slot", "crash", "rps", "gacha"):
        unlimited = game in ("slot", "crash")
        GameConfig.objects.create(
            game=game, version=1, engine=default_engine(game), min_bet=10, max_bet=1_000_000,
            daily_limits={rank: 0 for rank in DAILY_LIMITS[game]} if unlimited else DAILY_LIMITS[game],
        )  # fmt: skip
    # the shared crash round takes bets for the whole run; reconcile runs it and busts it
    chain_where_first_round(lambda crash: crash >= 300)
    game_services.crash_loop_step()
    CrashRound.objects.update(betting_ends_at=timezone.now() + timedelta(hours=1))
    Achievement.objects.all().delete()
    AchievementFactory(code="eco_rounds", metric="games_played", threshold=5, reward_gold=300,
                       reward_xp=20)  # fmt: skip
    AchievementFactory(code="eco_bet", metric="cumulative_bet", threshold=1500, reward_gold=500)
    AchievementFactory(code="eco_buyer", metric="purchases", threshold=1, reward_gold=200)
    AchievementFactory(code="eco_streak", metric="streak_days", threshold=1, reward_gold=50)
    StreakReward.objects.all().delete()
    StreakReward.objects.bulk_create([StreakReward(day=1, gold=100), StreakReward(day=2, gold=150)])
    Mission.objects.all().delete()
    missions = [
        MissionFactory(period="daily", requirement_type="plays", target=3, reward_gold=250),
        MissionFactory(period="weekly", requirement_type="wins", target=2, reward_gold=400),
    ]
    Event.objects.all().delete()
    event = EventFactory(requirement_type="plays", target=4, reward_gold=600, reward_xp=30)
    Season.objects.all().delete()
    season = SeasonFactory(starts_at=timezone.now() - timedelta(days=1))
    for number, xp_required in ((1, 0), (2, 30), (3, 120)):
        TierFactory(season=season, number=number, xp_required=xp_required,
                    free_reward_gold=100 * number, premium_reward_gold=300)  # fmt: skip
    pack = GoldPackFactory(gold_amount=5000, price_cents=19900)
    item = ItemFactory(price_gold=300)
    purchase_mission = MissionFactory(
        period="weekly", requirement_type="purchases", target=2, reward_gold=350
    )
    missions.append(purchase_mission)
    package_item = f"eco_frame_{seed}"
    package = LimitedPackageFactory(
        total_stock=10, per_user_limit=2, gold_amount=20000,
        items=[{"item_code": package_item, "quantity": 1}],
    )  # fmt: skip

    players, tokens = [], {}
    for index in range(PLAYERS):
        body = signup(seed, index)
        user_id = body["user"]["id"]
        players.append(user_id)
        tokens[user_id] = body["access"]
        auditor.open_wallet(user_id, body["user"]["gold"])
    auditor.keys.setdefault(staff.pk, set())
    return World(
        seed=seed, players=players, tokens=tokens, staff=staff,
        staff_token=token_pair_for_user(staff)["access"],
        mission_ids=[mission.pk for mission in missions], event_id=event.pk,
        pack_code=pack.code, item_code=item.code, package_code=package.code,
        package_item=package_item, purchase_mission_id=purchase_mission.pk,
    )  # fmt: skip


def _pages(client: APIClient, path: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    url: str | None = f"{path}{'&' if '?' in path else '?'}page_size=100"
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        rows.extend(body["results"])
        url = body["next"]
    return rows


def reconcile(world: World, auditor: Auditor) -> None:
    """Finish open rounds and add what only the end state shows: crash payouts, settled packs,
    refunds, level-up and achievement rewards. Everything here is read over HTTP, except the
    clawback of a refund the balance could not cover (see ``economy_model``'s docstring)."""
    clients = {user_id: APIClient() for user_id in world.players}
    for user_id, client in clients.items():
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {world.tokens[user_id]}")

    # the crash round starts now: the bets not cashed out yet cash out at once, then it busts
    CrashRound.objects.update(betting_ends_at=timezone.now())
    game_services.crash_loop_step()
    for round_id, (user_id, _) in sorted(auditor.crash_rounds.items()):
        if round_id not in auditor.crash_cashouts:
            response = clients[user_id].post(
                "/api/games/crash/cashout", {"round_id": round_id}, format="json",
                HTTP_IDEMPOTENCY_KEY=f"eco-{world.seed}-final-{round_id}",
            )  # fmt: skip
            assert response.status_code in (200, 409), response.content
            if response.status_code == 200:
                auditor.key_succeeded(user_id, f"eco-{world.seed}-final-{round_id}")
    crash_round = CrashRound.objects.get()
    game_services.crash_loop_step(now=crash_round.bust_at)

    level_gold = settings.LEVEL_UP_GOLD_PER_LEVEL
    for user_id, client in clients.items():
        rounds = {row["id"]: row for row in _pages(client, "/api/games/history")}
        if set(rounds) != auditor.rounds[user_id]:
            auditor.violation(user_id, f"rounds {sorted(set(rounds) ^ auditor.rounds[user_id])} "
                                       "differ from the successful play requests")  # fmt: skip
        for round_id, (owner, _) in auditor.crash_rounds.items():
            if owner != user_id:
                continue
            payout = rounds[round_id]["payout"] if round_id in rounds else 0
            shown = auditor.crash_cashouts.get(round_id)
            if shown is not None and shown != payout:
                auditor.violation(
                    user_id, f"crash round {round_id}: cash-out {shown}, kept {payout}"
                )
            if payout:
                auditor.step(-1, user_id, "crash-payout", None, 200, f"round {round_id}", payout)

        purchases = {row["receipt"]: row for row in _pages(client, "/api/shop/transactions")}
        mine = {r for r, facts in auditor.receipts.items() if facts.user_id == user_id}
        if set(purchases) != mine:
            auditor.violation(user_id, f"purchases {sorted(set(purchases) ^ mine)} differ")
        for receipt, row in sorted(purchases.items()):
            facts = auditor.receipts.get(receipt)
            if facts is None:
                continue
            for allowed in facts.expected:
                if row["status"] not in allowed.split("|"):
                    auditor.violation(user_id, f"{receipt} is {row['status']}, expected {allowed}")
            if (row["status"] == "refunded") != (receipt in auditor.refunds):
                auditor.violation(user_id, f"{receipt} is {row['status']}; refund seen: "
                                           f"{receipt in auditor.refunds}")  # fmt: skip
            if facts.gold and row["status"] in ("success", "refunded"):
                auditor.step(-1, user_id, "purchase-credit", None, 200, receipt, facts.gold)
            if receipt in auditor.refunds:
                _, flagged = auditor.refunds[receipt]
                taken = facts.gold
                if flagged:
                    entry = LedgerEntry.objects.get(
                        wallet_id=user_id, reason="refund_clawback", reference=f"refund:{receipt}"
                    ) if LedgerEntry.objects.filter(
                        wallet_id=user_id, reference=f"refund:{receipt}"
                    ).exists() else None  # fmt: skip
                    taken = -entry.delta if entry else 0
                    if taken >= facts.gold or (entry is not None and entry.balance_after != 0):
                        auditor.violation(user_id, f"{receipt}: flagged clawback took {taken}")
                if taken:
                    auditor.step(-1, user_id, "refund-clawback", None, 200,
                                 f"{receipt}{' (short)' if flagged else ''}", -taken)  # fmt: skip

        level = client.get("/api/users/me").json()["level"]
        for reached in range(2, level + 1):
            auditor.step(-1, user_id, "level-up", None, 200, f"level {reached}",
                         level_gold * reached)  # fmt: skip
        for row in client.get("/api/achievements/me").json():
            if row["unlocked"] and row["reward_gold"]:
                auditor.step(-1, user_id, "achievement", None, 200, row["code"], row["reward_gold"])


def progression_breaks(world: World, user_id: int) -> list[str]:
    """What a player's purchases fed must match the purchases that still stand (not refunded or
    charged back): VIP points (daily claims + 1 per 100 cents), the rank those points earn, the
    package's items, the purchase counter and the weekly purchase mission."""
    breaks: list[str] = []
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {world.tokens[user_id]}")
    me = client.get("/api/users/me").json()
    standing = list(Purchase.objects.filter(user_id=user_id, status="success"))
    reversed_ = list(Purchase.objects.filter(user_id=user_id, status="refunded"))
    points = sum(VipClaim.objects.filter(user_id=user_id).values_list("points", flat=True)) + sum(
        p.price_cents // 100 for p in standing
    )
    if me["vip_points"] != points:
        breaks.append(f"vip points {me['vip_points']}, standing purchases and claims earn {points}")
    if me["rank"] != vip_rank_for_points(me["vip_points"]):
        breaks.append(f"rank {me['rank']} with {me['vip_points']} points")
    owned = InventoryItem.objects.filter(user_id=user_id, item_code=world.package_item).first()
    packages = sum(1 for p in standing if p.flow == "limited")
    if (owned.quantity if owned else 0) != packages:
        breaks.append(f"{world.package_item} x{owned.quantity if owned else 0}, {packages} stand")
    counted = PlayerProgress.objects.filter(user_id=user_id).values_list("purchases", flat=True)
    if (counted.first() or 0) != len(standing):
        breaks.append(f"purchases counted {counted.first()}, {len(standing)} stand")
    for row in MissionProgress.objects.filter(
        user_id=user_id, mission_id=world.purchase_mission_id
    ):
        in_week = sum(
            1 for p in standing
            if period_start("weekly", timezone.localdate(p.settled_at)) == row.period_start
        )  # fmt: skip
        if row.claimed_at is None and row.progress != min(2, in_week):
            breaks.append(f"purchase mission {row.progress}, {in_week} purchases stand")
        flagged = any("mission_reward_claimed" in p.review_reasons for p in reversed_)
        if row.claimed_at is not None and in_week < 2 and not flagged:
            breaks.append("purchase mission claimed, its purchases reversed, nothing flagged")
    for purchase in reversed_:
        if purchase.refunded_at is None or purchase.settled_at is None:
            breaks.append(f"{purchase.receipt}: refunded without refunded_at / settled_at")
        elif purchase.refunded_at < purchase.settled_at:
            breaks.append(f"{purchase.receipt}: refunded before it settled")
    return breaks


def ledger_chain_breaks(user_id: int) -> list[str]:
    """Entries whose balance_after is negative or does not follow from the previous entry."""
    breaks, balance = [], 0
    for entry in LedgerEntry.objects.filter(wallet_id=user_id).order_by("pk"):
        balance += entry.delta
        if entry.balance_after != balance or entry.balance_after < 0:
            breaks.append(f"entry {entry.pk} ({entry.reason}): {entry.balance_after} != {balance}")
    return breaks


@pytest.mark.parametrize("seed", SEEDS)
def test_economy_model_predicts_every_wallet(seed, settings, admin_user):
    settings.PAYMENT_SIMULATOR = {"charge": "pending", "pending_outcome": "succeed"}
    # low thresholds, so purchases raise ranks and their reversals lower them during a run
    settings.VIP_PREMIUM_POINTS, settings.VIP_VIP_POINTS = 300, 700
    auditor = Auditor(seed)
    world = build_world(seed, admin_user, auditor)

    run_clients(world, auditor, OPERATIONS)
    reconcile(world, auditor)

    # the auditor waits for the projections (the beat backstop would apply what is left) and
    # checks them against the log before it reads progression
    caught_up()
    problems = [(player, message) for player, message in auditor.violations]
    for user_id in world.players:
        actual, predicted = wallet_balance(user_id), auditor.predicted(user_id)
        if actual != predicted:
            problems.append((user_id, f"wallet {actual}, predicted {predicted}"))
        problems.extend((user_id, message) for message in ledger_chain_breaks(user_id))
        problems.extend((user_id, message) for message in progression_breaks(world, user_id))
        stored = set(
            IdempotencyRecord.objects.filter(user_id=user_id).values_list("key", flat=True)
        )
        if stored != auditor.keys[user_id]:
            problems.append(
                (user_id, f"stored keys differ: {sorted(stored ^ auditor.keys[user_id])}")
            )
    staff_keys = set(
        IdempotencyRecord.objects.filter(user_id=admin_user.pk).values_list("key", flat=True)
    )
    if staff_keys != auditor.keys[admin_user.pk]:
        problems.append(
            (None, f"staff keys differ: {sorted(staff_keys ^ auditor.keys[admin_user.pk])}")
        )
    output = io.StringIO()
    try:
        call_command("check_ledger", stdout=output)
    except SystemExit:
        problems.append((None, f"check_ledger failed:\n{output.getvalue()}"))
    if ledger_violations():
        problems.append((None, f"ledger violations {ledger_violations()}"))
    output = io.StringIO()
    try:
        call_command("check_projections", stdout=output)
    except SystemExit:
        problems.append((None, f"check_projections failed:\n{output.getvalue()}"))

    first = problems[0][0] if problems else None
    assert problems == [], "\n".join(
        [*(f"player {player}: {message}" for player, message in problems), auditor.report(first)]
    )
    assert sum(auditor.counts.values()) >= OPERATIONS // 2
