"""Limited stock in admin: the change form never writes it; the audited action moves it exactly."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from accounts.models import AuditLogEntry
from games.tests.factories import funded_player
from shop import services
from shop.models import LimitedPackage, Purchase
from shop.tests.factories import LimitedPackageFactory

pytestmark = pytest.mark.django_db

ADMIN = "/admin/shop/limitedpackage/"


def change_form_data(package: LimitedPackage, **overrides) -> dict[str, str]:
    """The change form as a browser posts it, with the stock figures the page showed."""
    starts, ends = timezone.localtime(package.starts_at), timezone.localtime(package.ends_at)
    data = {
        "code": package.code,
        "name": package.name,
        "starts_at_0": starts.strftime("%Y-%m-%d"),
        "starts_at_1": starts.strftime("%H:%M:%S"),
        "ends_at_0": ends.strftime("%Y-%m-%d"),
        "ends_at_1": ends.strftime("%H:%M:%S"),
        "total_stock": str(package.total_stock),
        "remaining_stock": str(package.remaining_stock),
        "per_user_limit": str(package.per_user_limit),
        "price": str(package.price_cents),  # KRW: the price in won is its minor units
        "currency": package.currency,
        "gold_amount": str(package.gold_amount),
        "items": json.dumps(package.items),
        "min_rank": package.min_rank,
        "is_active": "on",
    }
    data.update(overrides)
    return data


def stock(package: LimitedPackage) -> tuple[int, int]:
    package.refresh_from_db()
    return package.total_stock, package.remaining_stock


def staff_client(*codenames: str) -> Client:
    staff = funded_player(0, is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(staff)
    return client


def test_the_change_form_does_not_bring_sold_units_back(admin_client):
    package = LimitedPackageFactory(code="drop", total_stock=10)
    page = admin_client.get(f"{ADMIN}{package.pk}/change/")
    shown = change_form_data(package)  # the page was opened with 10 of 10 left
    services.shop_buy_limited(funded_player(0), "drop")  # a buyer takes one meanwhile

    response = admin_client.post(f"{ADMIN}{package.pk}/change/", {**shown, "name": "Renamed"})

    assert page.status_code == 200
    assert response.status_code == 302
    package.refresh_from_db()
    assert (package.name, package.total_stock, package.remaining_stock) == ("Renamed", 10, 9)
    audit = AuditLogEntry.objects.get(action="limitedpackage_change")
    assert (audit.after["remaining_stock"], audit.after["name"]) == ("9", "Renamed")


def test_the_change_form_cannot_set_the_stock_either(admin_client):
    package = LimitedPackageFactory(code="drop", total_stock=10)

    admin_client.post(
        f"{ADMIN}{package.pk}/change/",
        change_form_data(package, total_stock="1000", remaining_stock="1000"),
    )

    assert stock(package) == (10, 10)


def test_a_new_package_starts_with_all_its_units(admin_client):
    template = LimitedPackageFactory.build(code="fresh", total_stock=25)
    template.starts_at = timezone.now()
    template.ends_at = timezone.now() + timedelta(days=1)

    response = admin_client.post(f"{ADMIN}add/", change_form_data(template, remaining_stock="3"))

    assert response.status_code == 302
    assert stock(LimitedPackage.objects.get(code="fresh")) == (25, 25)


def test_staff_add_and_remove_units_through_the_audited_action():
    package = LimitedPackageFactory(code="drop", total_stock=10)
    services.shop_buy_limited(funded_player(0), "drop")
    client = staff_client("view_limitedpackage", "change_limitedpackage", "change_stock")

    def act(units, reason="restock"):
        return client.post(
            ADMIN,
            {"action": "adjust_stock", "_selected_action": [package.pk], "units": units,
             "reason": reason},
            follow=True,
        ).content.decode()  # fmt: skip

    added = act("5")
    after_add = stock(package)
    act("-4", "oversupply")
    after_remove = stock(package)
    too_many = act("-11", "more than remain")
    no_reason = act("3", "")
    not_a_number = act("1e9", "huge")

    assert "Drop: 14 of 15 left." in added
    assert after_add == (15, 14)
    assert after_remove == (11, 10)
    assert "Drop: Cannot remove more units than remain." in too_many
    assert "Give a number of units (not 0) and a reason." in no_reason
    assert "Drop:" not in not_a_number  # the action form refuses it before the action runs
    assert stock(package) == (11, 10)  # sold: 1, always total - remaining
    audits = AuditLogEntry.objects.filter(action="limited_package_stock").order_by("pk")
    assert [(a.before, a.after, a.reason) for a in audits] == [
        ({"total_stock": 10, "remaining_stock": 9}, {"total_stock": 15, "remaining_stock": 14},
         "restock"),
        ({"total_stock": 15, "remaining_stock": 14}, {"total_stock": 11, "remaining_stock": 10},
         "oversupply"),
    ]  # fmt: skip


def test_the_stock_action_needs_its_own_permission():
    package = LimitedPackageFactory(code="drop", total_stock=10)
    client = staff_client("view_limitedpackage", "change_limitedpackage")

    page = client.get(ADMIN)
    response = client.post(
        ADMIN,
        {"action": "adjust_stock", "_selected_action": [package.pk], "units": "50",
         "reason": "more"},
    )  # fmt: skip

    assert b"adjust_stock" not in page.content
    assert response.status_code == 200  # "No action selected": the action is not offered
    assert stock(package) == (10, 10)
    assert not AuditLogEntry.objects.filter(action="limited_package_stock").exists()


def test_stock_adjust_service_refuses_bad_changes_and_changes_nothing():
    package = LimitedPackageFactory(code="drop", total_stock=2)
    staff = funded_player(0, is_staff=True)

    for units, reason in ((0, "zero"), (-3, "too many"), (5, "  ")):
        with pytest.raises(services.exceptions.StockAdjustInvalid) as error:
            services.limited_package_stock_adjust(package.pk, units, actor=staff, reason=reason)
        assert (error.value.code, error.value.status_code) == ("stock_adjust_invalid", 409)
    with pytest.raises(services.exceptions.ProductNotFound):
        services.limited_package_stock_adjust(package.pk + 99, 1, actor=staff, reason="none")

    assert stock(package) == (2, 2)
    assert Purchase.objects.count() == 0
    assert not AuditLogEntry.objects.exists()
