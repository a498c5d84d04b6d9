"""The production settings refuse to start unsafe; each case runs in its own process."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings

from accounts.models import User

SECRET_NAMES = (
    "DJANGO_SECRET_KEY",
    "JWT_SIGNING_KEY",
    "PAYMENT_WEBHOOK_SECRET",
    "RECEIPT_SIGNING_KEY",
)
# Variables a production start reads; the parent's values (test defaults) must not leak in.
CONTROLLED = (
    *SECRET_NAMES,
    "MASTER_INVITE_CODE",
    "PAYMENT_GATEWAY",
    "ADMIN_ALLOWED_NETWORKS",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "EMAIL_URL",
    "DEFAULT_FROM_EMAIL",
)

PRODUCTION_ENVIRONMENT = {
    "DJANGO_SECRET_KEY": "Kq3v9Zt1Lm7Xw2Rb8Np4Hs6Yd0Fc5Gj1Ue9Ta3Vo7Ik2Ql8Mz4Wx6Ry0Sb5Pn",
    "JWT_SIGNING_KEY": "jW8pL2mQ6rT0vX4zB7nC1kF5hD9sG3aE",
    "PAYMENT_WEBHOOK_SECRET": "whsec_N4bV8cX2zL6kJ0hG5fD9sA3qW7eR1tY",
    "RECEIPT_SIGNING_KEY": "rcpt_P9oI3uY7tR1eW5qA8sD2fG6hJ0kL4z",
    "PAYMENT_GATEWAY": "shop.gateway.SimulatedGateway",
    "PAYMENT_GATEWAY_ALLOW_SIMULATED": "true",
    "DJANGO_ALLOWED_HOSTS": "casino.example",
    "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
    "REDIS_URL": "redis://127.0.0.1:1/0",
    "EMAIL_URL": "smtp+tls://casino:relay-password@smtp.casino.example:587",
    "DEFAULT_FROM_EMAIL": "Casino Club <no-reply@casino.example>",
}


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "PAYMENT_")) and k not in CONTROLLED
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=Path(settings.BASE_DIR),
        env={**base_env, "DJANGO_SETTINGS_MODULE": "casinoclub.settings.production", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def start_production(**overrides: str | None) -> subprocess.CompletedProcess[str]:
    """``django.setup()`` under the production settings: a complete environment + ``overrides``
    (None removes a variable)."""
    env = {**PRODUCTION_ENVIRONMENT, **overrides}
    base_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "PAYMENT_")) and k not in CONTROLLED
    }
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=Path(settings.BASE_DIR),
        env={
            **base_env,
            "DJANGO_SETTINGS_MODULE": "casinoclub.settings.production",
            **{k: v for k, v in env.items() if v is not None},
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def refusal(result: subprocess.CompletedProcess[str]) -> str:
    """The ImproperlyConfigured line a refused start ends with."""
    assert result.returncode != 0, result.stdout
    assert "started" not in result.stdout
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: "), result.stderr
    return last.removeprefix("django.core.exceptions.ImproperlyConfigured: ")


def test_a_complete_production_environment_starts():
    result = start_production()

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "started"


def test_production_settings_pass_check_deploy():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENVIRONMENT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."
    assert result.stderr.strip() == ""


def test_production_settings_fail_fast_without_a_secret_key():
    result = run_manage("check", DJANGO_ALLOWED_HOSTS="casino.example")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_start_up_names_every_missing_secret_in_one_message():
    result = start_production(**dict.fromkeys(SECRET_NAMES))

    assert refusal(result).startswith(
        "Missing required secret(s): DJANGO_SECRET_KEY, JWT_SIGNING_KEY, "
        "PAYMENT_WEBHOOK_SECRET, RECEIPT_SIGNING_KEY."
    )


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_start_up_names_the_one_missing_secret(name):
    result = start_production(**{name: None})

    assert refusal(result).startswith(f"Missing required secret(s): {name}.")


def test_an_empty_secret_counts_as_missing():
    result = start_production(JWT_SIGNING_KEY="   ")

    assert refusal(result).startswith("Missing required secret(s): JWT_SIGNING_KEY.")


def test_the_webhook_secret_may_not_double_as_the_token_signing_key():
    # The exploit: a payment provider holding the webhook secret could sign staff tokens.
    shared = PRODUCTION_ENVIRONMENT["PAYMENT_WEBHOOK_SECRET"]

    result = start_production(JWT_SIGNING_KEY=shared)

    assert refusal(result) == (
        "Unsafe secrets: JWT_SIGNING_KEY and PAYMENT_WEBHOOK_SECRET are equal; "
        "each must have its own value."
    )


def test_all_four_secrets_equal_are_refused_naming_each():
    shared = PRODUCTION_ENVIRONMENT["DJANGO_SECRET_KEY"]

    result = start_production(**dict.fromkeys(SECRET_NAMES, shared))

    assert refusal(result) == (
        "Unsafe secrets: DJANGO_SECRET_KEY and JWT_SIGNING_KEY and PAYMENT_WEBHOOK_SECRET and "
        "RECEIPT_SIGNING_KEY are equal; each must have its own value."
    )


def test_short_uniform_and_example_secrets_are_refused():
    result = start_production(
        DJANGO_SECRET_KEY="x" * 60,
        JWT_SIGNING_KEY="short-key",
        RECEIPT_SIGNING_KEY="change-me-to-50-random-characters-0123456789",
    )

    assert refusal(result) == (
        "Unsafe secrets: DJANGO_SECRET_KEY has fewer than 10 distinct characters; "
        "JWT_SIGNING_KEY is shorter than 32 characters; "
        "RECEIPT_SIGNING_KEY is a development or example value."
    )


def test_the_development_secrets_are_refused():
    result = start_production(DJANGO_SECRET_KEY=settings.SECRET_KEY)

    assert refusal(result) == "Unsafe secrets: DJANGO_SECRET_KEY is a development or example value."


def test_production_has_no_master_invite_code_unless_set():
    show = (
        "shell",
        "-c",
        "from django.conf import settings; print(repr(settings.MASTER_INVITE_CODE))",
    )

    unset = run_manage(*show, **PRODUCTION_ENVIRONMENT)
    chosen = run_manage(*show, **PRODUCTION_ENVIRONMENT, MASTER_INVITE_CODE="Spring-VIP-2026-k9Q")

    assert unset.stdout.strip().splitlines()[-1] == "None", unset.stderr
    assert chosen.stdout.strip().splitlines()[-1] == "'Spring-VIP-2026-k9Q'", chosen.stderr


def test_production_refuses_a_guessable_master_invite_code():
    result = start_production(MASTER_INVITE_CODE="5858")

    assert refusal(result) == (
        "MASTER_INVITE_CODE is shorter than 12 characters: a code that never runs out must not be "
        "guessable. Unset it to have no master code."
    )


@pytest.mark.parametrize("allowed", [None, "false"])
def test_production_refuses_the_simulated_gateway_unless_explicitly_allowed(allowed):
    result = start_production(PAYMENT_GATEWAY_ALLOW_SIMULATED=allowed)

    message = refusal(result)
    assert message.startswith("PAYMENT_GATEWAY is shop.gateway.SimulatedGateway")
    assert "PAYMENT_GATEWAY_ALLOW_SIMULATED=true" in message


def test_the_simulated_gateway_is_the_production_default_and_is_refused():
    result = start_production(PAYMENT_GATEWAY=None, PAYMENT_GATEWAY_ALLOW_SIMULATED=None)

    assert "PAYMENT_GATEWAY_ALLOW_SIMULATED=true" in refusal(result)


STRIPE = {
    "PAYMENT_GATEWAY": "shop.stripe_gateway.StripeGateway",
    "PAYMENT_GATEWAY_ALLOW_SIMULATED": None,
    "STRIPE_SECRET_KEY": "sk_live_0123456789",
    "STRIPE_WEBHOOK_SECRET": "whsec_0123456789",
    "PAYMENT_SUCCESS_URL": "https://casino.example/shop/?checkout=success&receipt={receipt}",
    "PAYMENT_CANCEL_URL": "https://casino.example/shop/?checkout=cancel&receipt={receipt}",
}


def test_production_starts_with_stripe_and_its_keys():
    result = start_production(**STRIPE)

    assert result.returncode == 0, result.stderr


def test_production_refuses_stripe_without_its_keys():
    result = start_production(**{**STRIPE, "STRIPE_SECRET_KEY": None, "STRIPE_WEBHOOK_SECRET": ""})

    assert refusal(result) == (
        "PAYMENT_GATEWAY is shop.stripe_gateway.StripeGateway, which needs STRIPE_SECRET_KEY, "
        "STRIPE_WEBHOOK_SECRET."
    )


def test_production_refuses_stripe_returning_players_to_localhost():
    result = start_production(**{**STRIPE, "PAYMENT_SUCCESS_URL": None})

    assert refusal(result).startswith("PAYMENT_SUCCESS_URL must be the site's public https://")


def test_seed_demo_refuses_to_run_under_the_production_settings():
    result = run_manage("seed_demo", **PRODUCTION_ENVIRONMENT)

    assert result.returncode == 1
    assert result.stderr.strip() == (
        "CommandError: seed_demo does not run in production: it creates a staff account with a "
        "published password and grants gold."
    )


@pytest.mark.django_db
def test_seed_demo_in_production_creates_nothing():
    with override_settings(ENVIRONMENT="production"), pytest.raises(CommandError):
        call_command("seed_demo")

    assert User.objects.count() == 0


def test_production_refuses_to_start_without_an_email_relay():
    result = start_production(EMAIL_URL=None)

    assert refusal(result).startswith("EMAIL_URL is not set")


@pytest.mark.parametrize("url", ["smtp://127.0.0.1:2525", "smtp://localhost:25", "consolemail://"])
def test_production_refuses_a_local_or_non_smtp_email_url(url):
    result = start_production(EMAIL_URL=url)

    assert refusal(result).startswith("EMAIL_URL must name a real SMTP relay")


def test_production_refuses_a_development_sender_address():
    result = start_production(DEFAULT_FROM_EMAIL="Casino Club <no-reply@localhost>")

    assert refusal(result).startswith("DEFAULT_FROM_EMAIL must be the address")


def test_production_reads_the_relay_from_email_url():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_HOST_USER, s.EMAIL_USE_TLS)",
        ],
        cwd=Path(settings.BASE_DIR),
        env={
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("DJANGO_", "PAYMENT_")) and k not in CONTROLLED
            },
            "DJANGO_SETTINGS_MODULE": "casinoclub.settings.production",
            **PRODUCTION_ENVIRONMENT,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "django.core.mail.backends.smtp.EmailBackend smtp.casino.example 587 casino True"
    )
