"""The one module that reads the process environment.

Every other settings module takes its values from here. A required variable that is missing stops
start-up with an error naming it (``environ.Env`` raises ``ImproperlyConfigured``).
"""

import socket
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()


def read_local_services_file() -> None:
    """Fill DATABASE_URL / REDIS_URL from ``.data/services.env`` when ``make run`` wrote it.

    Variables already set in the environment win, so external services always take precedence.
    Only the local settings call this.
    """
    data_dir = env.str("CASINO_DATA_DIR", default="") or BASE_DIR / ".data"  # as devstack.py
    services_file = Path(data_dir) / "services.env"
    if services_file.exists():
        environ.Env.read_env(services_file, overwrite=False)


def own_ip_addresses() -> list[str]:
    """The IPv4 addresses this host's name resolves to (a container's own addresses)."""
    try:
        return sorted(set(socket.gethostbyname_ex(socket.gethostname())[2]))
    except OSError:
        return []


# Secrets with distinct jobs: whoever holds one must not be able to forge what another signs (a
# payment provider holding the webhook secret must not be able to sign staff tokens).
SECRET_NAMES = (
    "DJANGO_SECRET_KEY",  # sessions, CSRF, password reset links
    "JWT_SIGNING_KEY",  # access and refresh tokens
    "PAYMENT_WEBHOOK_SECRET",  # signatures of the payment provider's webhooks
    "RECEIPT_SIGNING_KEY",  # signatures of purchase receipts
)
# Django's own deploy check wants 50 characters for DJANGO_SECRET_KEY; HMAC keys want 32 bytes.
SECRET_MINIMUM_LENGTHS = {"DJANGO_SECRET_KEY": 50}
SECRET_MINIMUM_LENGTH = 32
SECRET_MINIMUM_DISTINCT_CHARACTERS = 10
# Parts of the development defaults (settings/local.py, test.py) and of .env.example placeholders.
PLACEHOLDER_MARKERS = ("not-for-production", "change-me", "changeme")


def read_secrets() -> dict[str, str]:
    """Every secret of ``SECRET_NAMES``; one error naming each missing (or empty) one."""
    values = {name: env.str(name, default="").strip() for name in SECRET_NAMES}
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ImproperlyConfigured(
            "Missing required secret(s): "
            + ", ".join(missing)
            + ". Set each to its own random value (for example `python -c "
            '"import secrets; print(secrets.token_urlsafe(50))"`).'
        )
    return values


def secret_problems(values: dict[str, str]) -> list[str]:
    """What makes these secrets unfit for production: too short, too uniform, or shared."""
    problems = []
    for name, value in values.items():
        minimum = SECRET_MINIMUM_LENGTHS.get(name, SECRET_MINIMUM_LENGTH)
        if any(marker in value.lower() for marker in PLACEHOLDER_MARKERS):
            problems.append(f"{name} is a development or example value")
        elif len(value) < minimum:
            problems.append(f"{name} is shorter than {minimum} characters")
        elif len(set(value)) < SECRET_MINIMUM_DISTINCT_CHARACTERS:
            problems.append(
                f"{name} has fewer than {SECRET_MINIMUM_DISTINCT_CHARACTERS} distinct characters"
            )
    names_by_value: dict[str, list[str]] = {}
    for name, value in values.items():
        names_by_value.setdefault(value, []).append(name)
    for names in names_by_value.values():
        if len(names) > 1:
            problems.append(f"{' and '.join(names)} are equal; each must have its own value")
    return problems


def refuse_unsafe_secrets(values: dict[str, str]) -> None:
    """Stop start-up when ``secret_problems`` finds anything (production only)."""
    problems = secret_problems(values)
    if problems:
        raise ImproperlyConfigured("Unsafe secrets: " + "; ".join(problems) + ".")
