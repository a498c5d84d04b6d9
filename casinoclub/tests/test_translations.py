"""Staff-written content in the player's language: Korean next to English, picked per request.

The request's language comes from LocaleMiddleware: the pages' language cookie, else
``Accept-Language``; a blank translation falls back to the English text.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import AuditLogEntry, InventoryItem, Item
from accounts.selectors import item_names
from accounts.services import inventory_add
from accounts.tests.factories import PASSWORD
from casinoclub.i18n import localized
from casinoclub.realtime.models import RealtimeMessage
from events.services import public_events_forget
from events.tests.factories import EventFactory, MissionFactory
from games.tests.factories import funded_player
from gamification.models import Achievement
from gamification.tests.factories import AchievementFactory, SeasonFactory, TierFactory
from gamification.tests.helpers import client_of, post
from shop.models import Product
from shop.tests.factories import GoldPackFactory, LimitedPackageFactory

pytestmark = pytest.mark.django_db

KOREAN = {"HTTP_ACCEPT_LANGUAGE": "ko-KR,ko;q=0.9"}
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}


def by_code(rows, key="code"):
    return {row[key]: row for row in rows}


def test_localized_picks_the_translation_and_falls_back_to_english_when_it_is_blank():
    translated = Product(name="Pouch of gold", name_ko="골드 주머니")
    untranslated = Product(name="Pouch of gold", name_ko="  ")

    assert localized(translated, "name", "ko") == "골드 주머니"
    assert localized(translated, "name", "en") == "Pouch of gold"
    assert localized(untranslated, "name", "ko") == "Pouch of gold"
    assert localized({"name": "Row", "name_ko": "행"}, "name", "ko") == "행"
    assert localized(translated, "name", "fr") == "Pouch of gold"


def test_the_catalog_and_limited_packages_follow_accept_language():
    player = funded_player(0)
    pack = GoldPackFactory(code="pack-ko", name="Big bag", name_ko="큰 주머니")
    plain = GoldPackFactory(code="pack-en", name="Plain bag")
    package = LimitedPackageFactory(code="chest-ko", name="Launch chest", name_ko="출시 상자")
    client = client_of(player)

    korean = client.get("/api/shop/catalog", **KOREAN).json()
    english = client.get("/api/shop/catalog", **ENGLISH).json()
    korean_packages = client.get("/api/shop/limited-packages", **KOREAN).json()

    korean_rows = by_code(korean["products"])
    english_rows = by_code(english["products"])
    packages = korean_packages["packages"]
    assert korean_rows[pack.code]["name"] == "큰 주머니"
    assert korean_rows[plain.code]["name"] == "Plain bag"  # no translation: English
    assert english_rows[pack.code]["name"] == "Big bag"
    assert by_code(packages)[package.code]["name"] == "출시 상자"
    frame = korean_rows["frame-silver"]
    assert (frame["name"], frame["item_code"], frame["item_name"]) == (
        "실버 아바타 프레임",
        "frame_silver",
        "실버 아바타 프레임",
    )
    assert english_rows["frame-silver"]["item_name"] == "Silver avatar frame"
    assert korean_rows[pack.code]["item_name"] is None


def test_the_starting_catalog_missions_and_achievements_ship_with_korean_text():
    assert Product.objects.get(code="gold-small").name_ko == "골드 주머니"
    assert Achievement.objects.get(code="first_round").name_ko == "첫 라운드"
    assert Item.objects.get(code="frame_silver").name_ko == "실버 아바타 프레임"
    player = funded_player(0)
    client = client_of(player)

    missions = by_code(client.get("/api/events/missions/daily", **KOREAN).json()["missions"])
    achievements = by_code(client.get("/api/achievements/", **KOREAN).json())

    assert (
        missions["daily-slot-spins"]["title"],
        missions["daily-slot-spins"]["description"],
    ) == ("슬롯 10번 돌리기", "오늘 슬롯을 10라운드 플레이하세요.")
    assert (achievements["first_round"]["name"], achievements["first_round"]["description"]) == (
        "첫 라운드",
        "첫 라운드를 플레이하세요.",
    )


def test_events_and_the_battle_pass_season_are_shown_in_korean():
    player = funded_player(0)
    event = EventFactory(title="Weekend rush", title_ko="주말 러시", description_ko="")
    mission = MissionFactory(title="Spin twice", title_ko="두 번 돌리기")
    season = SeasonFactory(name="Season one", name_ko="시즌 1")
    TierFactory(season=season, number=1, free_reward_item="frame_silver", premium_reward_item="")
    client = client_of(player)

    events = by_code(client.get("/api/events/", **KOREAN).json()["events"], key="id")
    missions = by_code(
        client.get("/api/events/missions/all", **KOREAN).json()["missions"], key="id"
    )
    battle_pass = client.get("/api/battle-pass", **KOREAN).json()

    assert events[event.pk]["title"] == "주말 러시"
    assert events[event.pk]["description"] == event.description  # blank translation: English
    assert missions[mission.pk]["title"] == "두 번 돌리기"
    assert battle_pass["season"]["name"] == "시즌 1"
    assert battle_pass["tiers"][0]["free"]["reward_item"] == "frame_silver"
    assert battle_pass["tiers"][0]["free"]["reward_item_name"] == "실버 아바타 프레임"
    assert battle_pass["tiers"][0]["premium"]["reward_item_name"] is None


def test_public_events_are_cached_per_language_with_their_own_etag(api_client):
    EventFactory(title="Open to all", title_ko="모두에게 열림")

    english = api_client.get("/api/public/events", **ENGLISH)
    korean = api_client.get("/api/public/events", **KOREAN)
    english_again = api_client.get("/api/public/events", **ENGLISH)
    korean_not_modified = api_client.get(
        "/api/public/events", HTTP_IF_NONE_MATCH=korean["ETag"], **KOREAN
    )

    assert [e["title"] for e in english.json()["events"]] == ["Open to all"]
    assert [e["title"] for e in korean.json()["events"]] == ["모두에게 열림"]
    assert english_again.json() == english.json()
    assert english["ETag"] != korean["ETag"]
    assert korean_not_modified.status_code == 304
    vary = {part.strip() for part in korean["Vary"].split(",")}
    assert {"Accept-Language", "Cookie"} <= vary


def test_a_staff_edit_of_an_event_drops_every_language_of_the_public_cache(api_client):
    event = EventFactory(title="Open to all", title_ko="모두에게 열림")
    api_client.get("/api/public/events", **ENGLISH)
    api_client.get("/api/public/events", **KOREAN)
    event.title_ko = "새 제목"
    event.save(update_fields=["title_ko"])

    public_events_forget()

    korean = api_client.get("/api/public/events", **KOREAN)

    assert [e["title"] for e in korean.json()["events"]] == ["새 제목"]


def test_ranks_are_named_in_the_players_language():
    player = funded_player(0)
    client = client_of(player)

    korean = client.get("/api/users/me", **KOREAN).json()
    english = client.get("/api/users/me", **ENGLISH).json()
    vip = client.get("/api/vip/status", **KOREAN).json()

    assert (korean["rank"], korean["rank_name"]) == ("STANDARD", "스탠다드")
    assert (english["rank"], english["rank_name"]) == ("STANDARD", "Standard")
    assert (vip["rank"], vip["rank_name"], vip["next_rank"], vip["next_rank_name"]) == (
        "STANDARD",
        "스탠다드",
        "PREMIUM",
        "프리미엄",
    )


def test_item_names_come_from_the_item_catalog_in_the_active_language():
    from django.utils import translation

    Item.objects.create(code="hat_red", name="Red hat", name_ko="빨간 모자")
    codes = ["hat_red", "frame_silver", "mystery_box", "battle_pass_premium:s1"]

    with translation.override("ko"):
        korean = item_names(codes)
    with translation.override("en"):
        english = item_names(codes)

    assert korean == {
        "hat_red": "빨간 모자",
        "frame_silver": "실버 아바타 프레임",
        "mystery_box": "Mystery box",  # no catalog row: a readable name made from the code
        "battle_pass_premium:s1": "프리미엄 배틀 패스",
    }
    assert english["hat_red"] == "Red hat"
    assert english["battle_pass_premium:s1"] == "Premium battle pass"


def _page_client(user, language: str) -> Client:
    client = Client()
    assert client.login(username=user.site_id, password=PASSWORD)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def test_the_pages_show_korean_content_names_ranks_rarities_and_items():
    player = funded_player(1000)
    GoldPackFactory(code="pack-page", name="Page bag", name_ko="페이지 주머니")
    inventory_add(player.pk, "frame_silver", 1)
    client = _page_client(player, "ko")

    shop = client.get("/shop/").content.decode()
    gacha = client.get("/play/gacha/").content.decode()
    profile = client.get("/profile/").content.decode()

    assert "페이지 주머니" in shop
    assert "Page bag" not in shop
    assert '<th scope="row">일반</th>' in gacha
    assert '<th scope="row">common</th>' not in gacha
    assert "<span>실버 아바타 프레임</span>" in gacha
    assert InventoryItem.objects.get(user=player, item_code="frame_silver").quantity == 1
    assert "<dd>스탠다드</dd>" in profile


def test_history_tables_scroll_in_focusable_named_regions():
    player = funded_player(0)
    client = _page_client(player, "en")

    history = client.get("/history/").content.decode()

    for title in ("stats-title", "rounds-title", "leaderboard-title"):
        assert (
            f'<div class="table-wrap" tabindex="0" role="region" aria-labelledby="{title}">'
            in history
        )


def test_an_unlocked_achievement_message_carries_every_languages_name():
    Achievement.objects.all().delete()  # only the achievement this test is about
    AchievementFactory(code="first_spin", name="First spin", name_ko="첫 스핀", threshold=1)
    player = funded_player(10_000)

    post(client_of(player), "/api/games/slot/spin", {"bet": 100})

    unlocked = []
    for kind, data in RealtimeMessage.objects.filter(user=player).values_list("type", "data"):
        if kind == "achievement_unlock":
            unlocked.append(data)
        elif kind == "progress_update":
            unlocked += [a for a in data.get("achievements", []) if a["state"] == "unlocked"]
    assert [(a["name"], a["names"]) for a in unlocked] == [
        ("First spin", {"en": "First spin", "ko": "첫 스핀"})
    ]


def test_staff_edit_an_items_two_names_in_admin_and_the_change_is_audited(admin_client):
    response = admin_client.post(
        "/admin/accounts/item/add/",
        {"code": "hat_blue", "name": "Blue hat", "name_ko": "파란 모자", "description": ""},
    )
    item = Item.objects.get(code="hat_blue")
    change = admin_client.post(
        f"/admin/accounts/item/{item.pk}/change/",
        {"code": "ignored", "name": "Blue hat", "name_ko": "파랑 모자", "description": ""},
    )

    assert (response.status_code, change.status_code) == (302, 302)
    item.refresh_from_db()
    assert (item.code, item.name, item.name_ko) == ("hat_blue", "Blue hat", "파랑 모자")
    audits = list(
        AuditLogEntry.objects.filter(target="item:hat_blue")
        .order_by("pk")
        .values_list("action", "after")
    )
    assert [action for action, _after in audits] == ["item_create", "item_change"]
    assert audits[1][1]["name_ko"] == "파랑 모자"


def test_the_admin_forms_offer_the_korean_fields_next_to_the_english_ones(admin_client):
    product = GoldPackFactory(code="pack-admin", name="Admin bag")
    package = LimitedPackageFactory(code="chest-admin")
    achievement = AchievementFactory(code="admin_achievement")
    season = SeasonFactory()
    event = EventFactory()
    mission = MissionFactory()
    forms = {
        f"/admin/shop/product/{product.pk}/change/": ["name_ko"],
        f"/admin/shop/limitedpackage/{package.pk}/change/": ["name_ko"],
        f"/admin/gamification/achievement/{achievement.pk}/change/": ["name_ko", "description_ko"],
        f"/admin/gamification/season/{season.pk}/change/": ["name_ko"],
        f"/admin/events/event/{event.pk}/change/": ["title_ko", "description_ko"],
        f"/admin/events/mission/{mission.pk}/change/": ["title_ko", "description_ko"],
    }

    for path, fields in forms.items():
        page = admin_client.get(path)
        assert page.status_code == 200, path
        for field in fields:
            assert f'name="{field}"' in page.content.decode(), (path, field)
