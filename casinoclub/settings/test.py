"""The test suite: real PostgreSQL and Redis, fast password hashing, no throttle surprises."""

import os

for _name, _value in {
    "DJANGO_SECRET_KEY": "test-key-not-for-production-0123456789-0123456789-0123456789",
    "JWT_SIGNING_KEY": "test-jwt-key-not-for-production-0123456789",
    "PAYMENT_WEBHOOK_SECRET": "test-webhook-secret-not-for-production-0123456789",
    "RECEIPT_SIGNING_KEY": "test-receipt-key-not-for-production-0123456789",
    "MASTER_INVITE_CODE": "5858",
}.items():
    os.environ.setdefault(_name, _value)

from .base import *  # noqa: E402, F403
from .base import REST_FRAMEWORK  # noqa: E402

ENVIRONMENT = "test"

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
    "public_odds": "1000/min",
    "fairness_rotate": "1000/min",
    "password": "1000/min",
    "password_reset": "1000/min",
    "email": "1000/min",
    "export": "1000/min",
}
