"""Money in the right unit: stored in minor units, typed and shown per currency (KRW has none),
thousands separators, faucets and sinks apart, and sold products deactivated, never deleted."""

import json
import re
from decimal import Decimal

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditLogEntry
from casinoclub.money import format_money, major_to_minor, minor_to_major
from games.tests.factories import funded_player
from shop import economy, services
from shop.models import LimitedPackage, Product, Purchase
from shop.tests.factories import GoldPackFactory, ItemFactory, LimitedPackageFactory

PRODUCT_ADD = reverse("admin:shop_product_add")
PRODUCTS = reverse("admin:shop_product_changelist")
ECONOMY = reverse("admin:shop_economy_dashboard")


@pytest.mark.parametrize(
    ("typed", "currency", "stored", "shown"),
    [
        ("1200", "KRW", 1200, "1,200 KRW"),
        ("12.99", "USD", 1299, "12.99 USD"),
        ("1234567", "JPY", 1234567, "1,234,567 JPY"),
        ("1.5", "KWD", 1500, "1.500 KWD"),
    ],
)
def test_amounts_convert_between_the_typed_unit_and_minor_units(typed, currency, stored, shown):
    assert major_to_minor(typed, currency) == stored
    assert minor_to_major(stored, currency) == Decimal(typed)
    assert format_money(stored, currency) == shown


@pytest.mark.parametrize(
    ("typed", "currency", "message"),
    [
        ("12.5", "KRW", "KRW takes whole units (it has no minor unit)."),
        ("12.999", "USD", "USD takes at most 2 decimals."),
        ("twelve", "USD", "'twelve' is not an amount."),
    ],
)
def test_an_amount_with_digits_the_currency_lacks_is_refused(typed, currency, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        major_to_minor(typed, currency)


def _product_form(**overrides: str) -> dict[str, str]:
    return {
        "code": "won-pack",
        "name": "Won pack",
        "kind": "gold_pack",
        "gold_amount": "5000",
        "item_code": "",
        "price": "1200",
        "currency": "KRW",
        "price_gold": "",
        "discount_percent": "0",
        "min_rank": "STANDARD",
        "is_active": "on",
        "display_order": "0",
        **overrides,
    }


@pytest.mark.django_db
def test_a_krw_price_is_typed_in_won_and_stored_as_won(admin_client):
    # when: staff type 1200 for a KRW pack (1,200 won)
    created = admin_client.post(PRODUCT_ADD, _product_form())

    # then: 1200 minor units (won have none), shown as 1,200 KRW, typed back as 1200
    assert created.status_code == 302
    product = Product.objects.get(code="won-pack")
    assert (product.price_cents, product.currency) == (1200, "KRW")
    change = admin_client.get(reverse("admin:shop_product_change", args=[product.pk]))
    assert change.context["adminform"].form.initial["price"] == Decimal("1200")
    assert "price_cents" not in change.context["adminform"].form.fields
    listing = admin_client.get(PRODUCTS).content.decode()
    assert '<td class="field-price">1,200 KRW</td>' in listing
    assert '<td class="field-gold">5,000</td>' in listing


@pytest.mark.django_db
def test_a_usd_price_is_typed_in_dollars_and_stored_in_cents(admin_client):
    admin_client.post(PRODUCT_ADD, _product_form(code="usd-pack", price="12.99", currency="USD"))

    assert Product.objects.get(code="usd-pack").price_cents == 1299
    assert "12.99 USD" in admin_client.get(PRODUCTS).content.decode()


@pytest.mark.django_db
def test_won_with_decimals_or_an_unknown_currency_are_refused_and_nothing_is_saved(admin_client):
    decimals = admin_client.post(PRODUCT_ADD, _product_form(price="12.50"))
    free_text = admin_client.post(PRODUCT_ADD, _product_form(currency="WON"))

    assert decimals.status_code == free_text.status_code == 200  # the form again
    assert decimals.context["adminform"].form.errors["price"] == [
        "KRW takes whole units (it has no minor unit)."
    ]
    assert "currency" in free_text.context["adminform"].form.errors
    assert not Product.objects.filter(code="won-pack").exists()
    assert not AuditLogEntry.objects.filter(action="product_create").exists()


@pytest.mark.django_db
def test_the_limited_package_form_takes_the_price_in_the_currency_s_unit(admin_user):
    # given: the admin's own form for an existing KRW package
    package = LimitedPackageFactory(price_cents=9900, currency="KRW")
    request = RequestFactory().get("/")
    request.user = admin_user
    model_admin = admin.site._registry[LimitedPackage]
    form_class = model_admin.get_form(request, package)
    form = form_class(instance=package)

    # then: a price of 9900 won, and the currency is a choice, not free text
    assert form.initial["price"] == Decimal("9900")
    assert "price_cents" not in form.fields
    assert ("KRW", "KRW") in form.fields["currency"].choices
    assert ("WON", "WON") not in form.fields["currency"].choices

    # when: the price is changed to 12.50 KRW, then to 15000
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(
        {
            "items": json.dumps(package.items),
            "starts_at_0": timezone.localtime(package.starts_at).strftime("%Y-%m-%d"),
            "starts_at_1": timezone.localtime(package.starts_at).strftime("%H:%M:%S"),
            "ends_at_0": timezone.localtime(package.ends_at).strftime("%Y-%m-%d"),
            "ends_at_1": timezone.localtime(package.ends_at).strftime("%H:%M:%S"),
        }
    )
    refused = form_class({**data, "price": "12.50"}, instance=package)
    accepted = form_class({**data, "price": "15000"}, instance=package)

    # then
    assert not refused.is_valid()
    assert refused.errors["price"] == ["KRW takes whole units (it has no minor unit)."]
    assert accepted.is_valid(), accepted.errors
    assert accepted.save().price_cents == 15000


@pytest.mark.django_db
def test_a_sold_product_cannot_be_deleted_only_deactivated(admin_client):
    # given: one product that sold, one that never did
    player = funded_player(10_000)
    sold = ItemFactory(code="sold-hat", price_gold=100)
    unsold = ItemFactory(code="spare-hat", price_gold=100)
    services.shop_buy(player, "sold-hat")

    # when
    listing = admin_client.get(PRODUCTS)
    delete_sold = admin_client.post(
        reverse("admin:shop_product_delete", args=[sold.pk]), {"post": "yes"}
    )
    bulk = admin_client.post(
        PRODUCTS, {"action": "delete_selected", "_selected_action": [sold.pk], "post": "yes"}
    )
    deactivate = admin_client.post(
        PRODUCTS, {"action": "deactivate", "_selected_action": [sold.pk]}
    )
    delete_unsold = admin_client.post(
        reverse("admin:shop_product_delete", args=[unsold.pk]), {"post": "yes"}
    )

    # then: no delete action, no delete of the sold product; it is deactivated instead
    assert "delete_selected" not in listing.content.decode()
    assert delete_sold.status_code == 403
    assert bulk.status_code == 302  # an action that is not offered: back to the list, nothing done
    assert Product.objects.filter(pk=sold.pk).exists()
    assert Purchase.objects.filter(product=sold).count() == 1
    assert deactivate.status_code == 302
    assert Product.objects.get(pk=sold.pk).is_active is False
    assert delete_unsold.status_code == 302
    assert not Product.objects.filter(pk=unsold.pk).exists()


@pytest.mark.django_db
def test_revenue_is_added_up_per_currency_and_labelled_in_its_own_unit(admin_client):
    # given: a 1,200 KRW pack and a 12.99 USD pack sold today
    player = funded_player(0)
    GoldPackFactory(code="won", price_cents=1200, currency="KRW")
    GoldPackFactory(code="usd", price_cents=1299, currency="USD")
    services.shop_buy(player, "won")
    services.shop_buy(player, "usd")
    today = timezone.localdate()

    # when
    data = economy.economy_daily(today, today)
    page = admin_client.get(ECONOMY)

    # then: KRW and USD are never added together, and each is shown in its own unit
    (day,) = data["days"]
    assert day["revenue_by_currency"] == {
        "KRW": {"sales": 1200, "refunds": 0, "net": 1200},
        "USD": {"sales": 1299, "refunds": 0, "net": 1299},
    }
    assert data["currencies"] == [
        {"code": "KRW", "digits": 0, "unit": "KRW (no minor unit)", "net": 1200},
        {"code": "USD", "digits": 2, "unit": "USD minor units (1/100)", "net": 1299},
    ]
    html = page.content.decode()
    assert 'data-testid="revenue-KRW">1,200 KRW<' in html
    assert 'data-testid="revenue-USD">12.99 USD<' in html
    assert 'data-currency="KRW" data-digits="0"' in html
    assert "cents" not in html.split('id="economy-data"')[0]


@pytest.mark.django_db
def test_faucets_and_sinks_have_their_own_charts_with_separators(admin_client):
    # given: a huge staff grant and a small burn
    player = funded_player(4_000_000)
    ItemFactory(code="hat", price_gold=300)
    services.shop_buy(player, "hat")

    html = admin_client.get(ECONOMY).content.decode()

    assert 'id="faucets-chart"' in html
    assert 'id="sinks-chart"' in html
    assert 'data-testid="circulation">3,999,700<' in html
    assert '<td class="number">4,000,000</td>' in html
    assert '<td class="number">300</td>' in html
