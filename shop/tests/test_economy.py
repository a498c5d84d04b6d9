import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.utils import timezone

from accounts.roles import ECONOMY
from accounts.tests.factories import UserFactory
from analytics.services.activity import activity_record
from analytics.services.rollups import analytics_rollup_day
from games.tests.factories import funded_player
from shop import economy, services
from shop.models import Purchase
from shop.tests.factories import GoldPackFactory, ItemFactory
from shop.tests.test_shop import client_for, post


@pytest.mark.django_db
def test_economy_daily_adds_up_the_ledger_and_revenue():
    player = funded_player(1000)  # +1000 staff_grant
    GoldPackFactory(code="pack", gold_amount=5000, price_cents=4900)
    ItemFactory(code="hat", price_gold=300)
    services.shop_buy(player, "pack")  # +5000 purchase_credit, revenue 4900
    services.shop_buy(player, "hat")  # -300 shop_purchase
    today = timezone.localdate()
    # and a second player who signed in today but moved no gold; the day is rolled up
    idle = UserFactory()
    activity_record(player.pk)
    activity_record(idle.pk)
    analytics_rollup_day(today)

    data = economy.economy_daily(today, today)

    (day,) = data["days"]
    assert day["minted"] == 6000
    assert day["burned"] == 300
    assert day["by_reason"]["purchase_credit"] == {"minted": 5000, "burned": 0}
    assert day["by_reason"]["shop_purchase"] == {"minted": 0, "burned": 300}
    assert day["revenue_cents"] == 4900
    # active players are the analytics DAU: everyone active, not only who moved gold
    assert day["active_players"] == 2
    assert data["circulation"] == 5700
    assert data["net"] == 5700


@pytest.mark.django_db
def test_admin_stats_is_staff_only_and_cached(settings):
    player = funded_player(0)
    GoldPackFactory(code="pack", price_cents=4900)
    settings.PAYMENT_SIMULATOR = {"charge": "pending", "pending_outcome": "pending"}
    settings.PENDING_PURCHASE_ALERT_THRESHOLD = 1
    services.shop_buy(player, "pack")

    staff_account = funded_player(0, is_staff=True)
    staff_account.groups.add(Group.objects.get(name=ECONOMY))
    staff = client_for(staff_account)
    players = client_for(player).get("/api/admin/stats")
    first = staff.get("/api/admin/stats").json()
    Purchase.objects.update(status="success", settled_at=timezone.now())  # within the 5 s cache
    cached = staff.get("/api/admin/stats").json()
    cache.delete(economy.ADMIN_STATS_CACHE_KEY)
    fresh = staff.get("/api/admin/stats").json()

    assert players.status_code == 403
    assert first["pending_purchases"] == 1
    assert [alert["code"] for alert in first["critical_alerts"]] == ["pending_purchases_spike"]
    assert set(first) == {"online_users", "total_revenue", "today_revenue", "revenue_by_currency",
                          "pending_purchases", "critical_alerts", "generated_at"}  # fmt: skip
    assert cached == first
    assert (fresh["pending_purchases"], fresh["total_revenue"], fresh["today_revenue"]) == (
        0,
        4900,
        4900,
    )


@pytest.mark.django_db
def test_economy_dashboard_page_is_staff_only(admin_client, client):
    player = funded_player(10)
    post(client_for(player), "/api/shop/buy", {"product_code": GoldPackFactory().code})

    page = admin_client.get("/admin/shop/purchase/economy/")
    bad_range = admin_client.get("/admin/shop/purchase/economy/?start=2026-01-10&end=2026-01-01")
    anonymous = client.get("/admin/shop/purchase/economy/")

    assert page.status_code == 200
    assert b"vendor/chartjs/chart.umd.min.js" in page.content
    assert b'id="economy-data"' in page.content
    assert bad_range.status_code == 200
    assert b"at most 366 days" in bad_range.content
    assert anonymous.status_code == 302


@pytest.mark.django_db
def test_admin_stats_keep_each_currency_apart():
    GoldPackFactory(code="won", price_cents=4900)
    GoldPackFactory(code="dollar", price_cents=399, currency="USD")
    services.shop_buy(funded_player(0), "won")
    services.shop_buy(funded_player(0), "dollar")
    services.shop_buy(funded_player(0), "dollar")

    stats = economy._admin_stats_now()

    assert stats["revenue_by_currency"] == [
        {"currency": "KRW", "total_revenue": 4900, "today_revenue": 4900},
        {"currency": "USD", "total_revenue": 798, "today_revenue": 798},
    ]
