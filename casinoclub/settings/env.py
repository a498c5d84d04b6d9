"""The one module that reads the process environment.

Every other settings module takes its values from here. A required variable that is missing stops
start-up with an error naming it (``environ.Env`` raises ``ImproperlyConfigured``).
"""

import socket
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()


def read_local_services_file() -> None:
    """Fill DATABASE_URL / REDIS_URL from ``.data/services.env`` when ``make run`` wrote it.

    Variables already set in the environment win, so external services always take precedence.
    Only the local settings call this.
    """
    services_file = BASE_DIR / ".data" / "services.env"
    if services_file.exists():
        environ.Env.read_env(services_file, overwrite=False)


def own_ip_addresses() -> list[str]:
    """The IPv4 addresses this host's name resolves to (a container's own addresses)."""
    try:
        return sorted(set(socket.gethostbyname_ex(socket.gethostname())[2]))
    except OSError:
        return []
