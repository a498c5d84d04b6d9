"""The test suite: real PostgreSQL and Redis, fast password hashing, no throttle surprises."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-key-0123456789-0123456789-0123456789-0123456789")

from .base import *  # noqa: F403
from .base import REST_FRAMEWORK

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    **REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],  # type: ignore[dict-item]  # a dict in base
    "login": "1000/min",
    "purchase": "1000/min",
    "webhook": "10000/min",
    "signup": "1000/min",
    "telemetry": "1000/min",
    "public_metrics": "1000/min",
    "public_events": "1000/min",
    "fairness_rotate": "1000/min",
    "password": "1000/min",
}
