"""The bench servers' settings: the product's (``casinoclub.settings.local``, which the harness
runs with ``DJANGO_DEBUG=false``) plus one bench-only route, ``bench.floor``."""

from casinoclub.settings.local import *  # noqa: F403

ROOT_URLCONF = "bench.floor"
