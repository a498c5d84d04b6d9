"""Development: `make run`. Reads the URLs of the embedded services when they are up."""

from .env import read_local_services_file

read_local_services_file()

import os  # noqa: E402

# Development-only defaults; production reads real secrets from the environment.
os.environ.setdefault(
    "DJANGO_SECRET_KEY", "local-development-key-not-for-production-use-0123456789"
)
os.environ.setdefault("DJANGO_DEBUG", "true")

from .base import *  # noqa: E402, F403
