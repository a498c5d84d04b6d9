"""Accessibility in Chromium: axe-core over every page, and Korean on a phone.

- axe-core (``vendor/axe-core/axe.min.js``, its MPL-2.0 header intact, version and provenance
  in ``vendor/axe-core/README.md``) scans every page on a desktop and a phone viewport, in English and
  in Korean; any serious or critical violation fails the test with its rule, its help text and
  the elements it found (docs/decisions/0212-axe-core-in-the-test-suite.md).
- On a 390 px phone in Korean, every section is one tap away through the menu button (and the
  keyboard), and table cells break between words, never one syllable per line.

Its own module (and so its own browser and daphne): the stories of ``test_player_pages`` stay
untouched, at the cost of one more browser start.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import BrowserContext, Page, expect

from accounts.models import Wallet
from accounts.tests.factories import PASSWORD
from events.tests.factories import EventFactory
from games.tests.factories import funded_player
from gamification.tests.factories import SeasonFactory, TierFactory
from gamification.tests.helpers import client_of, post
from shop.tests.factories import GoldPackFactory, LimitedPackageFactory

from .browsing import HANGUL, expect_gold, screenshot, sign_in, wait_socket_open
from .conftest import ARTIFACTS_DIR, DESKTOP, PHONE, PLAYER_PAGES, PageLog

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE_DIR = Path(__file__).parent / "vendor" / "axe-core"
AXE_SOURCE = (AXE_DIR / "axe.min.js").read_text(encoding="utf-8")
BLOCKING_IMPACTS = ("serious", "critical")
ACCESSIBILITY_SCREENSHOTS = ARTIFACTS_DIR / "accessibility"

# name → (path, status)
ANONYMOUS_PAGES = {
    "landing": ("/", 200),
    "signup": ("/signup/", 200),
    "login": ("/login/", 200),
    "odds": ("/odds/", 200),
    "verify": ("/verify/", 200),
    "password-reset": ("/password-reset/", 200),
    "password-reset-sent": ("/password-reset/sent/", 200),
    "not-found": ("/no-such-page/", 404),
}
VIEWPORTS = {"desktop": DESKTOP, "mobile": PHONE}
LANGUAGES = ("en", "ko")

RUN_AXE = """async () => {
  const results = await window.axe.run(document, { resultTypes: ["violations"] });
  return results.violations.map((violation) => ({
    id: violation.id,
    impact: violation.impact,
    help: violation.help,
    nodes: violation.nodes.map((node) => ({ target: node.target.join(" "), impact: node.impact })),
  }));
}"""

# Lines a cell's text takes (not the cell's height, which its row sets): the distinct tops of its
# text's line boxes.
CELL_LINES = """(cell) => {
  const range = document.createRange();
  range.selectNodeContents(cell);
  const tops = new Set([...range.getClientRects()].filter((rect) => rect.width > 0).map((rect) => Math.round(rect.top)));
  return tops.size;
}"""


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """The serious and critical axe-core violations of the page as it is now."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE)  # DevTools evaluation: not an inline script, so CSP allows it
    violations: list[dict[str, Any]] = page.evaluate(RUN_AXE)
    return [violation for violation in violations if violation["impact"] in BLOCKING_IMPACTS]


def describe(where: str, violations: list[dict[str, Any]]) -> list[str]:
    return [
        f"{where}: {violation['id']} ({violation['impact']}) {violation['help']} — "
        + ", ".join(node["target"] for node in violation["nodes"][:5])
        for violation in violations
    ]


def open_in(
    open_context: Callable[..., BrowserContext], live_url: str, viewport: str, language: str
) -> BrowserContext:
    """A context on ``viewport`` whose language cookie is ``language`` (what the switch sets)."""
    context = open_context(**VIEWPORTS[viewport])
    context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_url}]
    )
    return context


def open_menu_if_collapsed(page: Page) -> None:
    """On a phone the sections sit behind the menu button: open it so axe sees them too."""
    toggle = page.get_by_test_id("nav-toggle")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") == "false":
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")


def played_player_with_content() -> Any:
    """A player with rounds in their history, and a shop, an event and a season to look at."""
    player = funded_player(5000)
    client = client_of(player)
    for _ in range(2):
        assert post(client, "/api/games/slot/spin", {"bet": 10}).status_code == 200
    assert post(client, "/api/games/rps/play", {"bet": 10, "choice": "rock"}).status_code == 200
    GoldPackFactory(name="Bag of gold", name_ko="골드 가방", gold_amount=12000, price_cents=9900)
    LimitedPackageFactory(name="Launch week chest", name_ko="출시 주간 상자", remaining_stock=7)
    EventFactory(title="Weekend rush", title_ko="주말 러시")
    season = SeasonFactory(name="Season one", name_ko="시즌 1")
    TierFactory(season=season, number=1, xp_required=0)
    TierFactory(season=season, number=2, xp_required=500)
    return player


def test_axe_finds_no_serious_or_critical_violation_on_any_page(
    open_context: Callable[..., BrowserContext], live_url: str, page_log: PageLog
) -> None:
    player = played_player_with_content()
    balance = Wallet.objects.get(pk=player.pk).balance
    failures: list[str] = []
    scanned: list[str] = []

    for viewport in VIEWPORTS:
        for language in LANGUAGES:
            anonymous = open_in(open_context, live_url, viewport, language).new_page()
            for name, (path, status) in ANONYMOUS_PAGES.items():
                response = anonymous.goto(path)
                assert response is not None
                assert response.status == status, path
                expect(anonymous.locator("html")).to_have_attribute("lang", language)
                failures += describe(f"{name} {viewport} {language}", axe_violations(anonymous))
                scanned.append(f"{name}-{viewport}-{language}")

            page = open_in(open_context, live_url, viewport, language).new_page()
            sign_in(page, player.site_id, PASSWORD)
            for name, path in PLAYER_PAGES.items():
                response = page.goto(path)
                assert response is not None
                assert response.status == 200, path
                expect_gold(page, balance)
                wait_socket_open(page)
                open_menu_if_collapsed(page)
                failures += describe(f"{name} {viewport} {language}", axe_violations(page))
                scanned.append(f"{name}-{viewport}-{language}")

    assert failures == []
    assert len(scanned) == (len(ANONYMOUS_PAGES) + len(PLAYER_PAGES)) * 4
    # The scanner itself reports what it must: a button without a name is critical.
    page.evaluate(
        "() => document.querySelector('main').append(Object.assign("
        "document.createElement('button'), {id: 'unnamed-button'}))"
    )
    assert [(v["id"], v["nodes"][0]["target"]) for v in axe_violations(page)] == [
        ("button-name", "#unnamed-button")
    ]
    assert page_log.page_errors() == []


def test_korean_on_a_phone_reaches_every_section_and_keeps_words_whole(
    open_context: Callable[..., BrowserContext], live_url: str, page_log: PageLog
) -> None:
    player = played_player_with_content()
    page = open_in(open_context, live_url, "mobile", "ko").new_page()
    sign_in(page, player.site_id, PASSWORD)
    page.goto("/history/")
    wait_socket_open(page)
    expect(page.locator("html")).to_have_attribute("lang", "ko")

    # The sections sit behind one menu button; closed, none of them takes the screen.
    toggle = page.get_by_test_id("nav-toggle")
    links = page.get_by_test_id("main-nav").locator("a")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_have_text(re.compile(HANGUL))
    expect(links).to_have_count(len(PLAYER_PAGES))
    for index in range(len(PLAYER_PAGES)):
        expect(links.nth(index)).to_be_hidden()

    # Keyboard: Enter opens it, every section is on screen, Escape closes it back to the button.
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    hrefs = []
    for index in range(len(PLAYER_PAGES)):
        link = links.nth(index)
        expect(link).to_be_visible()
        expect(link).to_have_text(re.compile(HANGUL))
        box = link.bounding_box()
        assert box is not None
        assert box["x"] >= 0, link.get_attribute("href")
        assert box["x"] + box["width"] <= 390, link.get_attribute("href")
        hrefs.append(link.get_attribute("href"))
    assert sorted(hrefs) == sorted(PLAYER_PAGES.values())
    screenshot(page, ACCESSIBILITY_SCREENSHOTS, "history-mobile-ko-menu-open")
    page.keyboard.press("Tab")
    expect(links.first).to_be_focused()
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()

    # The tables: no header or cell wraps inside a word (lines ≤ words), and the short ones
    # ("게임", "플레이") take exactly one line.
    stats = page.get_by_test_id("stats")
    expect(stats.locator("tbody tr")).not_to_have_count(0)
    cells = page.locator("[data-testid=stats] th, [data-testid=stats] td")
    for index in range(cells.count()):
        cell = cells.nth(index)
        text = cell.inner_text().strip()
        if not text:
            continue
        words = len(text.split())
        lines = cell.evaluate(CELL_LINES)
        assert 1 <= lines <= words, f"{text!r} takes {lines} lines for {words} word(s)"
    # Values (amounts, multipliers, dates like "2026. 12. 6. 오후 1:41:25") take one line each.
    round_cells = page.locator("[data-testid=history] tbody td")
    expect(round_cells).not_to_have_count(0)
    for index in range(round_cells.count()):
        cell = round_cells.nth(index)
        assert cell.evaluate(CELL_LINES) == 1, cell.inner_text()
    for header in ("게임", "플레이"):
        cell = page.get_by_test_id("stats").get_by_role("columnheader", name=header, exact=True)
        assert cell.evaluate(CELL_LINES) == 1, header
    # The table scrolls in its own focusable region instead of squeezing its cells.
    region = page.locator("div.table-wrap").filter(has=stats)
    expect(region).to_have_attribute("tabindex", "0")
    expect(region).to_have_role("region")
    expect(region).to_have_accessible_name("통계")

    # Every section is reachable: the menu takes the player to each of them.
    for path in PLAYER_PAGES.values():
        toggle = page.get_by_test_id("nav-toggle")
        toggle.click()
        with page.expect_navigation():
            page.get_by_test_id("main-nav").locator(f'a[href="{path}"]').click()
        expect(page).to_have_url(re.compile(re.escape(path) + "$"))
        expect(page.get_by_test_id("main-nav").locator('a[aria-current="page"]')).to_have_attribute(
            "href", path
        )
    assert page_log.page_errors() == []
