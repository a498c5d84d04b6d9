"""Refunds and chargebacks: everything a purchase gave comes back once, and past revenue stays."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditLogEntry, InventoryItem, LedgerEntry, User, Wallet
from accounts.selectors import ledger_violations
from accounts.services import inventory_add
from casinoclub.tests.projection_helpers import caught_up
from events.models import Mission, MissionProgress
from games.tests.factories import funded_player
from gamification.models import PlayerProgress
from shop import economy, services
from shop.gateway import RefundResult, SimulatedGateway
from shop.models import Purchase
from shop.tests.factories import GoldPackFactory, ItemFactory, LimitedPackageFactory
from shop.tests.test_shop import client_for, post

pytestmark = pytest.mark.django_db


def balance(user) -> int:
    return Wallet.objects.get(pk=user.pk).balance


def quantity(user, item_code: str) -> int:
    row = InventoryItem.objects.filter(user_id=user.pk, item_code=item_code).first()
    return row.quantity if row else 0


def progress_of(user) -> tuple[int, str, int]:
    """(VIP points, rank, purchases counted) of ``user``."""
    fresh = User.objects.get(pk=user.pk)
    purchases = PlayerProgress.objects.filter(user_id=user.pk).first()
    return fresh.vip_points, fresh.rank, purchases.purchases if purchases else 0


def ledger(user) -> list[tuple[str, int]]:
    return list(
        LedgerEntry.objects.filter(wallet_id=user.pk).order_by("pk").values_list("reason", "delta")
    )


def refund(purchase_id: int, **kwargs) -> Purchase:
    """A staff refund, then the projections catch up (review flags found by progression)."""
    services.purchase_refund(purchase_id, **kwargs)
    caught_up()
    return Purchase.objects.get(pk=purchase_id)


def buy(user, code: str) -> Purchase:
    purchase = services.shop_buy(user, code)
    caught_up()
    return purchase


def buy_limited_any(user, code: str) -> Purchase:
    purchase = services.shop_buy_limited(user, code)
    caught_up()
    return purchase


def buy_limited(user, code: str) -> Purchase:
    purchase = buy_limited_any(user, code)
    assert purchase.status == "success"
    return purchase


@pytest.fixture
def staff(db):
    return funded_player(0, is_staff=True, is_superuser=True)


def test_a_refund_takes_back_gold_items_vip_points_and_the_purchase_count(staff):
    player = funded_player(0)
    LimitedPackageFactory(
        code="drop",
        price_cents=50_000,  # 500 VIP points: PREMIUM
        gold_amount=20_000,
        items=[{"item_code": "frame_gold", "quantity": 2}],
    )
    purchase = buy_limited(player, "drop")
    assert (balance(player), quantity(player, "frame_gold")) == (20_000, 2)
    assert progress_of(player) == (500, "PREMIUM", 1)

    refunded = refund(purchase.pk, actor=staff, reason="customer request")

    assert (refunded.status, refunded.reversal_kind, refunded.reversal_source) == (
        "refunded",
        "refund",
        "staff",
    )
    assert (refunded.needs_review, refunded.review_reasons) == (False, [])
    assert balance(player) == 0
    assert quantity(player, "frame_gold") == 0
    assert progress_of(player) == (0, "STANDARD", 0)
    assert ledger(player)[-1] == ("refund_clawback", -20_000)
    assert ledger_violations() == []


def test_the_rank_never_drops_below_what_other_purchases_earned(staff):
    player = funded_player(0)
    LimitedPackageFactory(code="drop", price_cents=50_000, per_user_limit=3, items=[])
    first, second, third = (buy_limited(player, "drop") for _ in range(3))
    assert progress_of(player) == (1500, "PREMIUM", 3)

    refund(first.pk, actor=staff, reason="one of three")
    after_one = progress_of(player)
    refund(second.pk, actor=staff, reason="two of three")
    after_two = progress_of(player)

    assert after_one == (1000, "PREMIUM", 2)
    assert after_two == (500, "PREMIUM", 1)  # the third purchase still earns PREMIUM
    refund(third.pk, actor=staff, reason="all of them")
    assert progress_of(player) == (0, "STANDARD", 0)


def test_a_rank_staff_set_above_the_points_stays_after_a_refund(staff):
    player = funded_player(0, rank="VIP")
    LimitedPackageFactory(code="drop", price_cents=50_000, items=[])
    purchase = buy_limited(player, "drop")

    refund(purchase.pk, actor=staff, reason="refund")

    assert progress_of(player) == (0, "VIP", 0)


def test_reversing_twice_reverses_once(staff):
    player = funded_player(0)
    LimitedPackageFactory(code="drop", price_cents=9_900, gold_amount=20_000)
    inventory_add(player.pk, "frame_gold", 3)  # owned before: a second removal would show
    purchase = buy_limited(player, "drop")
    refund(purchase.pk, actor=staff, reason="first")
    after_first = (balance(player), quantity(player, "frame_gold"), progress_of(player))
    entries = LedgerEntry.objects.count()
    audits = AuditLogEntry.objects.count()

    again = refund(purchase.pk, actor=staff, reason="second")
    dispute = services.purchase_reverse(
        purchase.pk, kind="dispute", source="provider", actor=None, reason="chargeback"
    )

    assert after_first == (0, 3, (0, "STANDARD", 0))
    assert (balance(player), quantity(player, "frame_gold"), progress_of(player)) == after_first
    assert (again.reversal_kind, dispute.reversal_kind) == ("refund", "refund")
    assert LedgerEntry.objects.count() == entries
    assert AuditLogEntry.objects.count() == audits


def test_a_chargeback_from_the_provider_reverses_without_asking_for_a_refund(
    monkeypatch, django_capture_on_commit_callbacks
):
    player = funded_player(0)
    GoldPackFactory(code="pack", gold_amount=5000, price_cents=4900)
    purchase = buy(player, "pack")
    asked = []
    monkeypatch.setattr(SimulatedGateway, "refund", lambda self, **kw: asked.append(kw))

    with django_capture_on_commit_callbacks(execute=True):
        disputed = services.purchase_reverse(
            purchase.pk, kind="dispute", source="provider", actor=None, reason="fraudulent"
        )

    assert (disputed.status, disputed.reversal_kind, disputed.reversal_source) == (
        "refunded",
        "dispute",
        "provider",
    )
    assert disputed.provider_refund_state == ""
    assert asked == []
    assert balance(player) == 0
    audit = AuditLogEntry.objects.get(action="purchase_dispute", target=purchase.receipt)
    assert (audit.actor_id, audit.reason, audit.after["source"]) == (None, "fraudulent", "provider")


def test_a_staff_refund_asks_the_provider_once_after_commit(
    staff, monkeypatch, django_capture_on_commit_callbacks
):
    player = funded_player(0)
    GoldPackFactory(code="pack", gold_amount=5000, price_cents=4900)
    purchase = buy(player, "pack")
    asked: list[dict] = []

    def refund(self, **kwargs):
        asked.append(kwargs)
        return RefundResult(True, "re_123")

    monkeypatch.setattr(SimulatedGateway, "refund", refund)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.purchase_refund(purchase.pk, actor=staff, reason="goodwill")
    asked_before_commit = list(asked)
    for callback in callbacks:
        callback()
    services.purchase_provider_refund(purchase.pk)  # a task run twice asks once

    purchase.refresh_from_db()
    assert asked_before_commit == []
    assert asked == [
        {
            "gateway_ref": f"sim_{purchase.receipt}",
            "amount_cents": 4900,
            "idempotency_key": f"refund:{purchase.receipt}",
        }
    ]
    assert (purchase.provider_refund_state, purchase.provider_refund_ref) == ("done", "re_123")


def test_a_refused_provider_refund_flags_the_purchase(
    staff, monkeypatch, django_capture_on_commit_callbacks
):
    player = funded_player(0)
    GoldPackFactory(code="pack")
    purchase = buy(player, "pack")
    monkeypatch.setattr(
        SimulatedGateway, "refund", lambda self, **kw: RefundResult(False, "", "charge_disputed")
    )

    with django_capture_on_commit_callbacks(execute=True):
        refund(purchase.pk, actor=staff, reason="goodwill")

    purchase.refresh_from_db()
    assert (purchase.provider_refund_state, purchase.needs_review) == ("failed", True)
    assert purchase.review_reasons == ["provider_refund_failed"]


def test_items_already_gone_are_flagged_never_negative(staff):
    player = funded_player(0)
    LimitedPackageFactory(code="drop", items=[{"item_code": "frame_gold", "quantity": 2}])
    purchase = buy_limited(player, "drop")
    InventoryItem.objects.filter(user_id=player.pk).update(quantity=1)  # one used up meanwhile

    refunded = refund(purchase.pk, actor=staff, reason="refund")

    assert quantity(player, "frame_gold") == 0
    assert (refunded.needs_review, refunded.review_reasons) == (True, ["items_shortfall"])
    audit = AuditLogEntry.objects.get(action="purchase_refund", target=purchase.receipt)
    assert audit.after["items_removed"] == [["frame_gold", 1]]


def test_an_unclaimed_purchase_mission_is_reopened_by_a_refund(staff):
    player = funded_player(0)
    mission = Mission.objects.get(code="weekly-purchase")
    GoldPackFactory(code="pack")
    purchase = buy(player, "pack")
    row = MissionProgress.objects.get(user_id=player.pk, mission=mission)
    assert (row.progress, row.completed_at is not None) == (1, True)

    refund(purchase.pk, actor=staff, reason="refund")
    claim = post(client_for(player), f"/api/events/missions/claim/{mission.pk}", {})

    row.refresh_from_db()
    assert (row.progress, row.completed_at, row.progress_version) == (0, None, 2)
    assert (claim.status_code, claim.json()["error"]["code"]) == (409, "not_completed")
    assert [reason for reason, _ in ledger(player)] == ["purchase_credit", "refund_clawback"]


def test_a_refund_leaves_what_the_other_purchases_earned_on_a_capped_mission(staff):
    player = funded_player(0)
    mission = Mission.objects.get(code="weekly-purchase")  # target 1
    GoldPackFactory(code="pack")
    first = buy(player, "pack")
    buy(player, "pack")  # the row was complete already: still 1 of 1

    refund(first.pk, actor=staff, reason="refund")

    row = MissionProgress.objects.get(user_id=player.pk, mission=mission)
    assert (row.progress, row.completed_at is not None, row.claimed_at) == (1, True, None)


def test_event_progress_takes_back_only_purchases_it_counted(staff):
    from events.models import EventParticipation
    from events.services import event_join
    from events.tests.factories import EventFactory

    player = funded_player(0)
    event = EventFactory(requirement_type="purchases", target=3)
    GoldPackFactory(code="pack")
    before_joining = buy(player, "pack")  # not counted: not joined yet
    event_join(player, event.pk)
    counted = [buy(player, "pack") for _ in range(2)]
    participation = EventParticipation.objects.get(user_id=player.pk, event=event)
    assert participation.progress == 2

    refund(before_joining.pk, actor=staff, reason="refund")
    after_uncounted = EventParticipation.objects.get(pk=participation.pk).progress
    refund(counted[0].pk, actor=staff, reason="refund")

    participation.refresh_from_db()
    assert after_uncounted == 2
    assert (participation.progress, participation.completed_at) == (1, None)


def test_a_claimed_purchase_mission_flags_the_refund_for_review(staff):
    player = funded_player(0)
    mission = Mission.objects.get(code="weekly-purchase")
    GoldPackFactory(code="pack", gold_amount=5000)
    purchase = buy(player, "pack")
    claim = post(client_for(player), f"/api/events/missions/claim/{mission.pk}", {})
    assert claim.status_code == 200
    before = balance(player)  # 5000 + the mission's 500 + a level-up its XP reached

    refunded = refund(purchase.pk, actor=staff, reason="refund")

    assert (refunded.needs_review, refunded.review_reasons) == (True, ["mission_reward_claimed"])
    assert balance(player) == before - 5000  # the pack's gold; the claimed reward is for staff


@pytest.mark.parametrize(
    ("kind", "source", "actor", "reason", "code"),
    [
        ("refund", "staff", None, "no actor", "reversal_invalid"),
        ("refund", "staff", "staff", " ", "reversal_invalid"),
        ("cancel", "staff", "staff", "bad kind", "reversal_invalid"),
        ("refund", "player", "staff", "bad source", "reversal_invalid"),
    ],
)
def test_bad_reversals_are_refused_and_change_nothing(staff, kind, source, actor, reason, code):
    player = funded_player(0)
    GoldPackFactory(code="pack")
    purchase = buy(player, "pack")
    before = (balance(player), ledger(player), AuditLogEntry.objects.count())

    with pytest.raises(services.exceptions.ApplicationError) as error:
        services.purchase_reverse(
            purchase.pk,
            kind=kind,
            source=source,
            actor=staff if actor else None,
            reason=reason,
        )

    assert (error.value.code, error.value.status_code) == (code, 400)
    assert Purchase.objects.get(pk=purchase.pk).status == "success"
    assert (balance(player), ledger(player), AuditLogEntry.objects.count()) == before


def test_only_successful_purchases_can_be_reversed(staff, settings):
    settings.PAYMENT_SIMULATOR = {"charge": "pending", "pending_outcome": "pending"}
    player = funded_player(0)
    GoldPackFactory(code="pack")
    pending = buy(player, "pack")

    with pytest.raises(services.exceptions.IllegalTransition):
        refund(pending.pk, actor=staff, reason="too early")
    with pytest.raises(services.exceptions.PurchaseNotFound):
        refund(pending.pk + 1000, actor=staff, reason="no such")
    with pytest.raises(services.exceptions.IllegalTransition):
        services.purchase_transition(pending.pk, "refunded")  # only purchase_reverse refunds

    assert Purchase.objects.get(pk=pending.pk).status == "pending"


def test_gold_priced_item_purchases_are_final(staff, admin_client):
    player = funded_player(1000)
    ItemFactory(code="hat", item_code="hat", price_gold=300)
    purchase = buy(player, "hat")
    before = (balance(player), ledger(player), quantity(player, "hat"), progress_of(player))

    with pytest.raises(services.exceptions.NotRefundable) as error:
        refund(purchase.pk, actor=staff, reason="changed my mind")
    page = admin_client.post(
        "/admin/shop/purchase/",
        {"action": "refund", "_selected_action": [purchase.pk], "reason": "changed my mind"},
        follow=True,
    )

    assert (error.value.code, error.value.status_code) == ("not_refundable", 409)
    assert f"{purchase.receipt}: Gold-priced item purchases are final" in page.content.decode()
    assert Purchase.objects.get(pk=purchase.pk).status == "success"
    assert (balance(player), ledger(player), quantity(player, "hat"), progress_of(player)) == before
    assert not AuditLogEntry.objects.filter(target=purchase.receipt).exists()


def test_a_refund_today_leaves_yesterdays_revenue_unchanged(staff):
    player = funded_player(0)
    GoldPackFactory(code="pack", price_cents=4900)
    sold_yesterday = buy(player, "pack")
    yesterday_at = timezone.now() - timedelta(days=1)
    Purchase.objects.filter(pk=sold_yesterday.pk).update(
        created_at=yesterday_at, settled_at=yesterday_at
    )
    buy(player, "pack")  # sold today
    today = timezone.localdate()
    yesterday = timezone.localdate(yesterday_at)
    before = economy.economy_daily(yesterday, today)["days"]

    refund(sold_yesterday.pk, actor=staff, reason="refund")
    after = economy.economy_daily(yesterday, today)["days"]

    figures = [(d["sales_cents"], d["refunds_cents"], d["revenue_cents"]) for d in after]
    assert [d["revenue_cents"] for d in before] == [4900, 4900]
    assert after[0] == before[0]
    assert figures == [(4900, 0, 4900), (4900, 4900, 0)]
    assert Purchase.objects.get(pk=sold_yesterday.pk).settled_at == yesterday_at


def test_admin_stats_count_a_refund_against_today(staff):
    player = funded_player(0)
    GoldPackFactory(code="pack", price_cents=4900)
    sold_yesterday = buy(player, "pack")
    Purchase.objects.filter(pk=sold_yesterday.pk).update(
        settled_at=timezone.now() - timedelta(days=1)
    )

    refund(sold_yesterday.pk, actor=staff, reason="refund")
    stats = economy._admin_stats_now()

    assert (stats["total_revenue"], stats["today_revenue"]) == (0, -4900)


def test_the_admin_refund_action_reports_what_needs_review(admin_client):
    player = funded_player(0)
    LimitedPackageFactory(code="drop", gold_amount=20_000)
    purchase = buy_limited(player, "drop")
    post(client_for(player), "/api/shop/buy", {"product_code": ItemFactory(price_gold=19_900).code})

    page = admin_client.post(
        "/admin/shop/purchase/",
        {"action": "refund", "_selected_action": [purchase.pk], "reason": "chargeback"},
        follow=True,
    )

    assert (
        f"Refunded {purchase.receipt} (flagged for review: gold_shortfall)."
        in page.content.decode()
    )
    assert balance(player) == 0
    assert quantity(player, "frame_gold") == 0


def test_a_provider_refund_lost_on_the_way_is_asked_again_by_the_refund_action(
    admin_client, monkeypatch, django_capture_on_commit_callbacks
):
    player = funded_player(0)
    GoldPackFactory(code="pack", gold_amount=5000, price_cents=4900)
    purchase = buy(player, "pack")
    asked: list[str] = []

    def refund(self, **kwargs):
        asked.append(kwargs["idempotency_key"])
        return RefundResult(True, "re_again")

    monkeypatch.setattr(SimulatedGateway, "refund", refund)
    body = {"action": "refund", "_selected_action": [purchase.pk], "reason": "goodwill"}
    with django_capture_on_commit_callbacks(execute=False):  # the task never reached the broker
        admin_client.post("/admin/shop/purchase/", body)
    lost = Purchase.objects.get(pk=purchase.pk).provider_refund_state
    entries = LedgerEntry.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        page = admin_client.post("/admin/shop/purchase/", body, follow=True)

    purchase.refresh_from_db()
    assert lost == "requested"
    assert f"Asked the provider again to refund {purchase.receipt}." in page.content.decode()
    assert asked == [f"refund:{purchase.receipt}"]
    assert (purchase.provider_refund_state, purchase.provider_refund_ref) == ("done", "re_again")
    assert LedgerEntry.objects.count() == entries  # nothing taken back twice


def test_a_reversed_premium_pass_with_premium_rewards_claimed_is_flagged(staff):
    from gamification.models import Season
    from gamification.services import battle_pass_claim
    from gamification.tests.factories import SeasonFactory, TierFactory

    Season.objects.all().delete()
    season = SeasonFactory(code="s1")
    TierFactory(season=season, number=1, xp_required=0, premium_reward_gold=300)
    pass_item = season.premium_item_code
    LimitedPackageFactory(code="pass", items=[{"item_code": pass_item, "quantity": 1}])
    player, other = funded_player(0), funded_player(0)
    claimed = buy_limited_any(player, "pass")
    battle_pass_claim(player.pk, 1, "premium")
    unclaimed = buy_limited_any(other, "pass")

    flagged = refund(claimed.pk, actor=staff, reason="chargeback")
    clean = refund(unclaimed.pk, actor=staff, reason="refund")

    assert (quantity(player, pass_item), quantity(other, pass_item)) == (0, 0)
    assert flagged.review_reasons == ["battle_pass_premium_claimed"]
    assert (clean.needs_review, clean.review_reasons) == (False, [])
