"""Pages of items, receipts, odds and verification: names instead of codes, receipts only for
their buyer, odds and verification before login."""

from __future__ import annotations

import re

import pytest
from django.db import transaction
from django.test import Client
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.tokens import token_pair_for_user
from games.tests.factories import funded_player
from shop import services as shop_services
from shop.tests.factories import GoldPackFactory, ItemFactory

RAW_CODES = ("frame_silver", "frame_gold", "frame_bronze", "emote_lucky_cat", "gold-small")


def visible_text(html: str) -> str:
    """The page's text as a player reads it: no tags, attributes, scripts or JSON state."""
    html = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/odds/", "/verify/"])
def test_odds_and_verify_pages_are_public_before_login(client, path):
    response = client.get(path)

    assert response.status_code == 200
    assert 'href="/login/' not in response.headers.get("Location", "")


@pytest.mark.django_db
def test_the_odds_page_states_the_gold_return_and_each_item_by_name_never_an_item_price(client):
    html = client.get("/odds/").content.decode()
    text = visible_text(html)

    assert "Gold return: 51.74% of a single pull" in " ".join(text.split())
    for name in ("Silver avatar frame", "Gold avatar frame", "Lucky cat emote", "Jade tiger skin"):
        assert name in text
    for code in RAW_CODES:
        assert code not in text
    assert "91.15" not in text  # the old figure that priced items
    # the slot paytable: three of a kind and pairs, from the live configuration
    assert re.search(r"Diamond</th><td>250\.00×</td><td>8\.00×", html)
    assert re.search(r"Bell</th><td>12\.00×</td><td>—", html)


@pytest.mark.django_db
def test_the_verify_page_loads_the_browser_algorithm_and_needs_no_server_verdict(client):
    html = client.get("/verify/?round=1").content.decode()

    assert 'src="/static/js/verify.js"' in html
    assert 'data-testid="verify-outcome"' in html
    assert 'data-testid="verify-run"' in html


@pytest.mark.django_db
def test_the_inventory_page_lists_items_by_name_with_equip_buttons(page_client, page_player):
    # given a player with a silver frame (equipped) and a gold frame
    with transaction.atomic():
        account_services.inventory_add(page_player.pk, "frame_silver")
        account_services.inventory_add(page_player.pk, "frame_gold")
    account_services.item_equip(page_player.pk, "frame_silver")

    # when they open the inventory and the profile
    html = page_client.get("/inventory/").content.decode()
    profile = page_client.get("/profile/").content.decode()

    # then each item shows by name, the equipped one marked, the other with an Equip button
    text = visible_text(html)
    assert "Silver avatar frame" in text
    assert "Gold avatar frame" in text
    assert not any(code in text for code in RAW_CODES)
    assert re.search(r'data-item="frame_silver"[^>]*data-equipped="true"', html)
    assert re.search(r'data-item="frame_gold"[^>]*data-equipped="false"', html)
    assert html.count('data-action="equip"') == 1
    assert html.count('data-action="unequip"') == 1
    assert "Silver avatar frame" in visible_text(profile.split('data-testid="profile-equipped"')[1])


@pytest.mark.django_db
def test_the_shop_names_items_and_confirms_before_buying(page_client):
    ItemFactory(code="frame-silver-test", name="Silver avatar frame deal", item_code="frame_silver")
    GoldPackFactory(code="gold-small-test", name="Small gold pack", price_cents=1200)

    html = page_client.get("/shop/").content.decode()
    text = visible_text(html)

    assert "Item: Silver avatar frame" in " ".join(text.split())
    assert "frame_silver" not in text
    assert 'data-testid="purchase-confirm"' in html
    assert 'data-testid="confirm-purchase"' in html
    assert re.search(r'data-name="Small gold pack"[^>]*data-real-money="true"', html)
    assert 'data-price-text="1,200 KRW"' in html


@pytest.mark.django_db
def test_a_receipt_shows_its_id_signature_status_and_product_name_to_its_buyer_only(
    page_client, page_player
):
    # given a gold-pack purchase
    pack = GoldPackFactory(code="gold-small-test", name="Small gold pack", gold_amount=5000)
    purchase = shop_services.shop_buy(page_player, pack.code)

    # when the buyer opens its receipt, and another player tries the same address
    mine = page_client.get(f"/shop/receipts/{purchase.receipt}/")
    other = Client()
    other.force_login(funded_player(0))
    theirs = other.get(f"/shop/receipts/{purchase.receipt}/")
    missing = other.get("/shop/receipts/R-does-not-exist/")

    # then the buyer sees every fact of the receipt; the other player gets the not-found page
    assert mine.status_code == 200
    text = " ".join(visible_text(mine.content.decode()).split())
    assert purchase.receipt in text
    assert purchase.signature in text
    assert "Small gold pack" in text
    assert "5,000 gold" in text
    assert "gold-small-test" not in text
    assert ("Paid" if purchase.status == "success" else "Pending") in text
    assert (theirs.status_code, missing.status_code) == (404, 404)
    assert purchase.signature not in theirs.content.decode()
    assert "Small gold pack" not in theirs.content.decode()


@pytest.mark.django_db
def test_the_purchases_api_names_what_was_bought(page_player):
    item = ItemFactory(
        code="frame-silver-test", name="Silver avatar frame deal", item_code="frame_silver"
    )
    shop_services.shop_buy(page_player, item.code)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for_user(page_player)['access']}")

    [purchase] = api.get("/api/shop/transactions").json()["results"]

    assert purchase["name"] == "Silver avatar frame deal"
    assert purchase["product"] == "frame-silver-test"
    assert purchase["items"] == [
        {"item_code": "frame_silver", "quantity": 1, "name": "Silver avatar frame"}
    ]
