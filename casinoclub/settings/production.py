"""Production: every secret from the environment, HTTPS assumed behind the reverse proxy."""

from .base import *  # noqa: F403
from .env import env, own_ip_addresses

DEBUG = False
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
