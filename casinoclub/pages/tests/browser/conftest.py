"""Browser tests: Debian's Chromium driven by Playwright against a live daphne process.

- ``daphne_server`` (module): the product served by daphne on the pytest test database and the
  suite's Redis (``live_server.py``); tests use ``django_db(transaction=True)`` so it sees their
  committed rows.
- ``chromium`` (module): one headless Chromium from ``CHROMIUM_PATH`` (default
  ``/usr/bin/chromium``); a missing binary fails the tests, it never skips them. Keep every browser
  test in one module so the suite launches one browser: Playwright's sync API keeps an asyncio
  loop marked as running on the main thread while it is started, which would break
  ``async_to_sync`` (and the ORM's async-safety check) in every later test, so the browser must
  not outlive its module.
- ``open_context``: new browser contexts bound to the live server; on a failed test every open
  page leaves a screenshot and its console log in ``test-artifacts/failures/<test>/``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from accounts.tests.smtp import SmtpServer, smtp_server

from .live_server import LiveServer, live_server_environment

ARTIFACTS_DIR = Path(settings.BASE_DIR) / "test-artifacts"

# Every player page (name → path), and the two screens the browser tests use.
PLAYER_PAGES = {
    "home": "/",
    "slot": "/play/slot/",
    "crash": "/play/crash/",
    "gacha": "/play/gacha/",
    "rps": "/play/rps/",
    "shop": "/shop/",
    "events": "/events/",
    "achievements": "/achievements/",
    "history": "/history/",
    "profile": "/profile/",
    "inventory": "/inventory/",
    "account": "/account/",
}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
SCREENSHOTS_DIR = ARTIFACTS_DIR / "screenshots"
FAILURES_DIR = ARTIFACTS_DIR / "failures"
CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ACTION_TIMEOUT_MS = 20_000

# The suite shares two cores with PostgreSQL, Redis and daphne: be patient, never sleep.
expect.set_options(timeout=ACTION_TIMEOUT_MS)

_reports = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item, so fixtures know in teardown whether it failed."""
    report = yield
    item.stash.setdefault(_reports, {})[report.when] = report
    return report


@pytest.fixture(scope="module")
def mailbox() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) the live server sends its mail to; its messages in a list."""
    with smtp_server() as server:
        yield server


@pytest.fixture(scope="module")
def daphne_server(
    request: pytest.FixtureRequest, django_db_setup: None, mailbox: SmtpServer
) -> Iterator[LiveServer]:
    """daphne on the test database. Gold packs charge as *pending* until a signed webhook.

    Module-scoped like the browser: no process of the browser tests outlives their module.
    """
    log_path = ARTIFACTS_DIR / "logs" / f"daphne-{request.module.__name__.rsplit('.', 1)[-1]}.log"
    log_path.unlink(missing_ok=True)
    server = LiveServer(
        environment=live_server_environment(
            {
                "PAYMENT_SIMULATOR_CHARGE": "pending",
                "PAYMENT_SIMULATOR_PENDING_OUTCOME": "pending",
                "EMAIL_URL": f"smtp://127.0.0.1:{mailbox.port}",
            }
        ),
        log_path=log_path,
    )
    server.environment["SITE_URL"] = server.url  # links in mail lead back to this server
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def live_url(daphne_server: LiveServer) -> str:
    """The live server's base URL, with daphne running (a test that stopped it restarts it)."""
    if not daphne_server.is_running():
        daphne_server.start()
    return daphne_server.url


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if not Path(CHROMIUM_PATH).is_file():
        pytest.fail(
            f"Chromium not found at {CHROMIUM_PATH}: the browser tests need Debian's chromium "
            "package (`apt-get install chromium fonts-noto-cjk`, as .ci/run does) or CHROMIUM_PATH",
            pytrace=False,
        )
    # While Playwright is started its event loop counts as running on this thread, although it
    # only runs inside Playwright calls. Django's ORM refuses to run "in an async context" then;
    # here no coroutine runs between those calls, so the ORM is safe for this module's tests.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM_PATH, headless=True, args=["--disable-dev-shm-usage"]
        )
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


# Reports every Content-Security-Policy violation of every document (the event fires for blocked
# inline scripts, inline styles, event handler attributes, eval and foreign origins alike).
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolationCount = (window.__cspViolationCount || 0) + 1;
  window.reportCspViolation(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} on ${location.pathname}`
    + ` (${event.sourceFile || "document"}:${event.lineNumber}) ${event.sample || ""}`.trim()
  );
});
"""


class PageLog:
    """Console messages, uncaught errors and CSP violations of every page of the test's contexts."""

    def __init__(self) -> None:
        self.lines: dict[Page, list[str]] = {}
        self.errors: dict[Page, list[str]] = {}
        self.csp_violations: list[str] = []

    def watch_csp(self, context: BrowserContext) -> None:
        context.expose_function("reportCspViolation", self._report_csp_violation)
        context.add_init_script(REPORT_CSP_VIOLATIONS)

    def _report_csp_violation(self, text: str) -> None:
        self.csp_violations.append(text)

    def _console(self, lines: list[str], message: Any) -> None:
        lines.append(f"[{message.type}] {message.text}")
        if "Content Security Policy" in message.text:  # Chromium's own report of a refusal
            self.csp_violations.append(f"[console] {message.text}")

    def attach(self, page: Page) -> None:
        lines = self.lines.setdefault(page, [])
        errors = self.errors.setdefault(page, [])
        page.on("console", lambda message: self._console(lines, message))
        page.on(
            "pageerror",
            lambda error: (lines.append(f"[pageerror] {error}"), errors.append(str(error))),
        )

    def page_errors(self) -> list[str]:
        return [error for errors in self.errors.values() for error in errors]


@pytest.fixture
def page_log() -> PageLog:
    return PageLog()


@pytest.fixture
def open_context(
    request: pytest.FixtureRequest,
    chromium: Browser,
    daphne_server: LiveServer,
    live_url: str,
    page_log: PageLog,
) -> Iterator[Callable[..., BrowserContext]]:
    """``open_context(**playwright_context_options)`` → a context whose base URL is the server."""
    contexts: list[BrowserContext] = []
    shutil.rmtree(_failure_folder(request.node.name), ignore_errors=True)  # from an earlier run

    def open_(**options: Any) -> BrowserContext:
        context = chromium.new_context(base_url=live_url, **options)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.on("page", page_log.attach)
        page_log.watch_csp(context)
        contexts.append(context)
        return context

    yield open_
    reports = request.node.stash.get(_reports, {})
    if any(report.failed for report in reports.values()):
        _save_failure_artifacts(request.node.name, contexts, page_log)
        print(f"daphne log (end):\n{daphne_server.log_tail()}")  # shown in the failure report
    for context in contexts:
        context.close()
    # Every page of every browser test runs under the Content-Security-Policy without a refusal.
    if page_log.csp_violations:
        pytest.fail(
            "Content-Security-Policy violations:\n" + "\n".join(page_log.csp_violations),
            pytrace=False,
        )


def _failure_folder(test_name: str) -> Path:
    return FAILURES_DIR / re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)


def _save_failure_artifacts(test_name: str, contexts: list[BrowserContext], log: PageLog) -> None:
    folder = _failure_folder(test_name)
    folder.mkdir(parents=True, exist_ok=True)
    for context_number, context in enumerate(contexts, start=1):
        for page_number, page in enumerate(context.pages, start=1):
            stem = folder / f"context{context_number}-page{page_number}"
            lines = [f"url: {page.url}", *log.lines.get(page, [])]
            stem.with_suffix(".console.log").write_text("\n".join(lines) + "\n")
            try:
                page.screenshot(path=stem.with_suffix(".png"), full_page=True)
            except Exception as error:  # a crashed or closed page still leaves its log
                stem.with_suffix(".screenshot-error.txt").write_text(repr(error))
