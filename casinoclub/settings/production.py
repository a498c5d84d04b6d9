"""Production: every secret from the environment, HTTPS assumed behind the reverse proxy.

Start-up refuses what would be unsafe in front of players (docs/decisions/0115): missing, weak or
shared secrets, a guessable master invite code, and the simulated payment gateway (free gold)
unless ``PAYMENT_GATEWAY_ALLOW_SIMULATED=true`` says a demo deployment wants it.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import (
    DEFAULT_FROM_EMAIL,
    EMAIL_BACKEND,
    EMAIL_HOST,
    EMAIL_URL_SET,
    MASTER_INVITE_CODE,
    PAYMENT_CANCEL_URL,
    PAYMENT_GATEWAY,
    PAYMENT_SUCCESS_URL,
    PAYMENT_WEBHOOK_SECRET,
    RECEIPT_SIGNING_KEY,
    SECRET_KEY,
    SIMPLE_JWT,
    STRIPE_SECRET_KEY,
    STRIPE_WEBHOOK_SECRET,
)
from .env import env, own_ip_addresses, refuse_unsafe_secrets

ENVIRONMENT = "production"
DEBUG = False

refuse_unsafe_secrets(
    {
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "JWT_SIGNING_KEY": str(SIMPLE_JWT["SIGNING_KEY"]),
        "PAYMENT_WEBHOOK_SECRET": PAYMENT_WEBHOOK_SECRET,
        "RECEIPT_SIGNING_KEY": RECEIPT_SIGNING_KEY,
    }
)

MASTER_INVITE_CODE_MINIMUM_LENGTH = 12
if MASTER_INVITE_CODE is not None and len(MASTER_INVITE_CODE) < MASTER_INVITE_CODE_MINIMUM_LENGTH:
    raise ImproperlyConfigured(
        f"MASTER_INVITE_CODE is shorter than {MASTER_INVITE_CODE_MINIMUM_LENGTH} characters: a "
        "code that never runs out must not be guessable. Unset it to have no master code."
    )

SIMULATED_GATEWAY = "shop.gateway.SimulatedGateway"
PAYMENT_GATEWAY_ALLOW_SIMULATED = env.bool("PAYMENT_GATEWAY_ALLOW_SIMULATED", default=False)
if PAYMENT_GATEWAY.strip() == SIMULATED_GATEWAY and not PAYMENT_GATEWAY_ALLOW_SIMULATED:
    raise ImproperlyConfigured(
        f"PAYMENT_GATEWAY is {SIMULATED_GATEWAY}, which grants gold without taking any money. "
        "Set PAYMENT_GATEWAY to a real gateway, or PAYMENT_GATEWAY_ALLOW_SIMULATED=true for a "
        "demo deployment."
    )

STRIPE_GATEWAY = "shop.stripe_gateway.StripeGateway"
if PAYMENT_GATEWAY.strip() == STRIPE_GATEWAY:
    _stripe_missing = [
        name
        for name, value in (
            ("STRIPE_SECRET_KEY", STRIPE_SECRET_KEY),
            ("STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET),
        )
        if not value.strip()
    ]
    if _stripe_missing:
        raise ImproperlyConfigured(
            f"PAYMENT_GATEWAY is {STRIPE_GATEWAY}, which needs " + ", ".join(_stripe_missing) + "."
        )
    _local_return = [
        name
        for name, value in (
            ("PAYMENT_SUCCESS_URL", PAYMENT_SUCCESS_URL),
            ("PAYMENT_CANCEL_URL", PAYMENT_CANCEL_URL),
        )
        if not value.startswith("https://")
    ]
    if _local_return:
        raise ImproperlyConfigured(
            ", ".join(_local_return) + " must be the site's public https:// address, where the "
            "provider's checkout sends players back."
        )

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
if env.bool("DJANGO_ALLOWED_HOSTS_INCLUDE_OWN_IPS", default=False):
    # docker compose: Prometheus scrapes each replica by its IP address and health checks call
    # 127.0.0.1, so those Host headers are this container's own addresses.
    ALLOWED_HOSTS = [*ALLOWED_HOSTS, "127.0.0.1", *own_ip_addresses()]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 30)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}

# Staff sign in with a second factor; production has no way to turn it off
# (docs/decisions/0125-staff-sign-in.md).
STAFF_REQUIRE_2FA = True

# E-mail goes through a real relay: the development default (the local capture server) would
# swallow every password reset (docs/decisions/0225-e-mail.md).
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
if not EMAIL_URL_SET:
    raise ImproperlyConfigured(
        "EMAIL_URL is not set: give the relay, e.g. smtp+tls://user:password@smtp.example.com:587."
    )
if EMAIL_BACKEND != SMTP_BACKEND or EMAIL_HOST in ("", "localhost", "127.0.0.1", "::1"):
    raise ImproperlyConfigured(
        "EMAIL_URL must name a real SMTP relay (smtp://, smtp+tls:// or smtp+ssl:// to a host "
        "other than this machine)."
    )
if "localhost" in DEFAULT_FROM_EMAIL or "@" not in DEFAULT_FROM_EMAIL:
    raise ImproperlyConfigured(
        "DEFAULT_FROM_EMAIL must be the address players receive mail from, e.g. "
        "Casino Club <no-reply@casino.example>."
    )
