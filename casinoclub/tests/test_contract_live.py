"""The committed schema (``docs/openapi.yaml``) against the product served by daphne.

- ``test_schemathesis_finds_no_contract_failure``: the schemathesis command line with every
  check and every phase (examples, coverage, fuzzing, and the stateful phase that follows the
  schema's links: signup → login → spin → history → verify, catalog → buy → transactions), as a
  funded player; any failure fails the test. The run is bounded (examples per operation, a fixed
  seed) so it takes a minute or two. The routes that end the player's login are left out.
- ``test_a_generated_client_signs_up_spins_buys_and_reads_the_history``: a typed client generated
  from the committed schema with ``openapi-python-client`` into a temporary directory (never
  committed: docs/decisions/0163) plays a short session with its typed models.

Both talk HTTP to a real daphne process on the test database (``casinoclub.pages.tests.browser``'s
``LiveServer``); tests use ``django_db(transaction=True)`` so it sees their committed rows.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from django.conf import settings

from accounts.tokens import token_pair_for_user
from casinoclub.pages.tests.browser.live_server import LiveServer, live_server_environment
from games.tests.factories import funded_player
from shop.models import Product, ProductKind

pytestmark = pytest.mark.live

BASE_DIR = Path(settings.BASE_DIR)
SCHEMA = BASE_DIR / "docs" / "openapi.yaml"
CONTRACT_DIR = Path(__file__).with_name("contract")
CONFIG = CONTRACT_DIR / "schemathesis.toml"
BIN = Path(sys.executable).parent
ARTIFACTS_DIR = BASE_DIR / "test-artifacts"
# Operations that end the player's login or block their play for days: the main run leaves them
# out (its player must stay able to play and buy) and a second run covers them with another player.
SESSION_ENDING_OPERATIONS = [
    "auth_logout",
    "auth_logout_all",
    "auth_password_change",
    "responsible_play_cool_off",
    "responsible_play_self_exclusion",
    "responsible_play_purchase_limit",
    "users_me_delete",
]
MAX_EXAMPLES = 5
SEED = 20261206
# The player's journey the run must have walked with success: (method, path template) of 2xx
# answers in schemathesis' own record of the run (its VCR cassette). Login is left out: the bounded
# stateful phase does not always follow the signup → login link, and a generated login names a
# player that does not exist.
JOURNEY = [
    ("POST", "/api/auth/signup"),
    ("POST", "/api/games/slot/spin"),
    ("GET", "/api/games/history"),
    ("GET", "/api/games/rounds/{round_id}/verify"),
    ("GET", "/api/shop/catalog"),
    ("POST", "/api/shop/buy"),
    ("GET", "/api/shop/transactions"),
]


@pytest.fixture(scope="module")
def contract_server(django_db_setup: None) -> Iterator[LiveServer]:
    log_path = ARTIFACTS_DIR / "logs" / "daphne-contract.log"
    log_path.unlink(missing_ok=True)
    server = LiveServer(environment=live_server_environment({}), log_path=log_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def gold_pack() -> Product:
    return Product.objects.create(
        code="starter_pack",
        name="Starter pack",
        kind=ProductKind.GOLD_PACK,
        gold_amount=1_000,
        price_cents=1_000,
        currency="KRW",
        display_order=-1,  # first in the catalog: the catalog → buy link buys products[0]
    )


def schemathesis_run(server: LiveServer, report_dir: Path, *arguments: str) -> str:
    """The schemathesis command line with every check, as a fresh funded player; its output."""
    access = token_pair_for_user(funded_player(gold=10_000_000))["access"]
    command = [
        str(BIN / "schemathesis"), "--config-file", str(CONFIG), "run", str(SCHEMA),
        "--url", server.url,
        "--checks", "all",
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED),
        "--workers", "1",
        "--request-timeout", "20",
        "--header", f"Authorization: Bearer {access}",
        "--report", "junit,vcr",
        "--report-dir", str(report_dir),
        "--no-color",
        *arguments,
    ]  # fmt: skip
    result = subprocess.run(
        command,
        cwd=BASE_DIR,
        env={**os.environ, "PYTHONPATH": str(CONTRACT_DIR)},  # the hooks module
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    (ARTIFACTS_DIR / "logs").mkdir(parents=True, exist_ok=True)
    with (ARTIFACTS_DIR / "logs" / "schemathesis.log").open("a") as log:
        log.write(output)
    assert result.returncode == 0, output[-20_000:]
    return output


def succeeded(report_dir: Path) -> set[tuple[str, str]]:
    """(method, path template) of every 2xx answer recorded in the run's VCR cassette."""
    steps = set()
    for cassette in report_dir.glob("vcr-*.yaml"):
        for interaction in yaml.safe_load(cassette.read_text())["http_interactions"]:
            if not interaction["response"]["status"]["code"].startswith("2"):
                continue
            path = urlsplit(interaction["request"]["uri"]).path
            path = re.sub(r"^/api/games/rounds/\d+/", "/api/games/rounds/{round_id}/", path)
            steps.add((interaction["request"]["method"], path))
    return steps


@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_contract_failure(contract_server: LiveServer, tmp_path: Path):
    gold_pack()
    (ARTIFACTS_DIR / "logs" / "schemathesis.log").unlink(missing_ok=True)

    main = schemathesis_run(
        contract_server,
        tmp_path / "main",
        "--phases", "examples,coverage,fuzzing,stateful",
        *[arg for name in SESSION_ENDING_OPERATIONS for arg in ("--exclude-operation-id", name)],
    )  # fmt: skip
    schemathesis_run(
        contract_server,
        tmp_path / "session-ending",
        "--phases", "examples,coverage,fuzzing",
        *[arg for name in SESSION_ENDING_OPERATIONS for arg in ("--include-operation-id", name)],
    )  # fmt: skip

    assert re.search(r"Stateful \(in [0-9.]+s\)\s+Scenarios:\s+[1-9]", main), main[-5_000:]
    missing = set(JOURNEY) - succeeded(tmp_path / "main")
    assert not missing, f"the run never reached {sorted(missing)}"


def generated_client(tmp_path: Path) -> Any:
    """Generate the typed client from the committed schema and import it."""
    config = tmp_path / "client-config.yaml"
    config.write_text(
        "project_name_override: casino-club-client\n"
        "package_name_override: casino_club_client\n"
        "post_hooks: []\n"  # no formatter run on the generated code
    )
    command = [
        str(BIN / "openapi-python-client"), "generate",
        "--path", str(SCHEMA), "--config", str(config),
        "--output-path", str(tmp_path / "casino_club_client"), "--meta", "none", "--fail-on-warning",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(tmp_path))
    importlib.invalidate_caches()
    return importlib.import_module("casino_club_client")


@pytest.fixture
def client_package(tmp_path: Path) -> Iterator[Any]:
    package = generated_client(tmp_path)
    try:
        yield package
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n.split(".")[0] == "casino_club_client"]:
            del sys.modules[name]


@pytest.mark.django_db(transaction=True)
def test_a_generated_client_signs_up_spins_buys_and_reads_the_history(
    contract_server: LiveServer, client_package: Any
):
    gold_pack()
    api = importlib.import_module("casino_club_client.api")
    models = importlib.import_module("casino_club_client.models")
    auth_signup = importlib.import_module("casino_club_client.api.auth.auth_signup")
    slot_spin = importlib.import_module("casino_club_client.api.games.games_slot_spin")
    history = importlib.import_module("casino_club_client.api.games.games_history")
    shop_buy = importlib.import_module("casino_club_client.api.shop.shop_buy")
    transactions = importlib.import_module("casino_club_client.api.shop.shop_transactions")
    assert api is not None
    anonymous = client_package.Client(base_url=contract_server.url, raise_on_unexpected_status=True)

    signed_up = auth_signup.sync(
        client=anonymous,
        body=models.SignupInputRequest(
            site_id="typed_client",
            nickname="TypedClient",
            phone_number="010-5555-0101",
            password="Str0ng-passw0rd!",
            invite_code="5858",
            birth_date=date(1990, 1, 1),
        ),
    )
    assert isinstance(signed_up, models.AuthResult)
    assert signed_up.user.site_id == "typed_client"
    player = client_package.AuthenticatedClient(
        base_url=contract_server.url, token=signed_up.access, raise_on_unexpected_status=True
    )
    starting_gold = signed_up.user.gold

    spun = slot_spin.sync(
        client=player, body=models.BetInputRequest(bet=10), idempotency_key="typed-spin-0001"
    )
    assert isinstance(spun, models.PlayResult)
    assert spun.round_.bet == 10
    assert spun.balance == starting_gold - 10 + spun.round_.payout

    bought = shop_buy.sync(
        client=player,
        body=models.BuyInputRequest(product_code="starter_pack"),
        idempotency_key="typed-buy-0001",
    )
    assert isinstance(bought, models.BuyResult)
    assert bought.purchase.status == "success"
    assert bought.balance == spun.balance + 1_000

    page = history.sync(client=player, page_size=10)
    assert isinstance(page, models.PaginatedRoundList)
    assert [round_.id for round_ in page.results] == [spun.round_.id]
    purchases = transactions.sync(client=player)
    assert isinstance(purchases, models.PaginatedPurchaseList)
    assert [purchase.receipt for purchase in purchases.results] == [bought.purchase.receipt]
