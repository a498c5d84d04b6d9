"""Development: `make run`. Reads the URLs of the embedded services when they are up."""

from .env import read_local_services_file

read_local_services_file()

import os  # noqa: E402

# Development-only defaults; production reads real secrets from the environment and refuses
# these (each differs from the others, as production requires).
for _name, _value in {
    "DJANGO_SECRET_KEY": "local-development-key-not-for-production-use-0123456789",
    "JWT_SIGNING_KEY": "local-development-jwt-key-not-for-production-0123456789",
    "PAYMENT_WEBHOOK_SECRET": "local-development-webhook-secret-not-for-production",
    "RECEIPT_SIGNING_KEY": "local-development-receipt-key-not-for-production",
    "MASTER_INVITE_CODE": "5858",
    "DJANGO_DEBUG": "true",
}.items():
    os.environ.setdefault(_name, _value)

from .base import *  # noqa: E402, F403

ENVIRONMENT = "local"
