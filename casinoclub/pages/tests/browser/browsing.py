"""What the browser tests do to the pages, in the words of the page contract (test ids, names)."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from playwright.sync_api import Locator, Page, Response, expect

SOCKET_OPEN = "open"
NO_RELOAD_MARK = "__browserTestNoReload"
HANGUL = r"[\uac00-\ud7a3]"


def html(page: Page) -> Locator:
    return page.locator("html")


def wait_socket_open(page: Page) -> None:
    expect(html(page)).to_have_attribute("data-socket", SOCKET_OPEN)


def wait_socket_down(page: Page) -> None:
    """The store noticed the drop: ``connecting`` (retrying) or ``closed``, anything but open."""
    expect(html(page)).not_to_have_attribute("data-socket", SOCKET_OPEN)


def gold_balance(page: Page) -> Locator:
    return page.get_by_test_id("gold-balance")


def expect_gold(page: Page, amount: int) -> None:
    """The header shows ``amount`` (raw in ``data-value``, formatted as text on English pages), and
    so does every other copy of the balance (``[data-gold]``)."""
    expect(gold_balance(page)).to_have_attribute("data-value", str(amount))
    expect(gold_balance(page)).to_have_text(f"{amount:,}")
    copies = page.locator("[data-gold]")
    for index in range(copies.count()):
        expect(copies.nth(index)).to_have_text(f"{amount:,}")


def mark_no_reload(page: Page) -> None:
    """A marker in the page's JS realm: a reload or navigation would lose it."""
    page.evaluate(f"window.{NO_RELOAD_MARK} = true")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate(f"window.{NO_RELOAD_MARK} === true") is True


def fill_identifier(page: Page, site_id: str) -> None:
    """The login name field, named like the API field: ``site_id``."""
    page.locator("form [name=site_id]").fill(site_id)


def sign_in(page: Page, site_id: str, password: str) -> None:
    """Log in through the ``/login/`` form and land on the signed-in home page."""
    page.goto("/login/")
    fill_identifier(page, site_id)
    page.locator("form [name=password]").fill(password)
    with page.expect_navigation():
        page.get_by_test_id("login-submit").click()
    expect(gold_balance(page)).to_be_visible()


def api_post_response(page: Page, path: str) -> Any:
    """A context manager waiting for the page's next POST to ``path`` (an API route)."""
    return page.expect_response(
        lambda response: (
            response.request.method == "POST" and response.url.split("?")[0].endswith(path)
        )
    )


def assert_idempotency_key(response: Response) -> str:
    """The request carried an ``Idempotency-Key`` that is a UUID; returns it."""
    key = response.request.headers.get("idempotency-key", "")
    return str(uuid.UUID(key))


def screenshot(page: Page, folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=folder / f"{name}.png", full_page=True)


def post_signed_webhook(base_url: str, payload: dict[str, Any]) -> tuple[int, Any]:
    """POST a payment event as the provider does: HMAC-SHA256 of ``"{ts}.{nonce}." + body``."""
    body = json.dumps(payload).encode()
    timestamp = str(int(time.time()))
    nonce = uuid.uuid4().hex
    signature = hmac.new(
        settings.PAYMENT_WEBHOOK_SECRET.encode(),
        f"{timestamp}.{nonce}.".encode() + body,
        hashlib.sha256,
    ).hexdigest()
    host, port = urlsplit(base_url).hostname, urlsplit(base_url).port
    connection = http.client.HTTPConnection(host or "127.0.0.1", port, timeout=30)
    try:
        connection.request(
            "POST",
            "/api/shop/webhook/payment",
            body=body,
            headers={
                "Content-Type": "application/json",
                "X-Webhook-Timestamp": timestamp,
                "X-Webhook-Nonce": nonce,
                "X-Webhook-Signature": signature,
            },
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()
