"""schemathesis hooks for the contract run (loaded by ``schemathesis.toml``'s ``hooks``).

Idempotency keys are scoped per player, not per route: a generator that sends the same minimal
key (``00000000``) to every gold-moving route gets 422 ``idempotency_mismatch`` for all but the
first, and never reaches the game or the shop. A well-formed key is therefore made unique per
request; a malformed or missing one is left as generated, so negative cases stay negative.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import schemathesis

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_\-:.]{8,100}$")


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    headers = case.headers or {}
    key = headers.get(HEADER)
    if isinstance(key, str) and KEY_PATTERN.fullmatch(key):
        headers[HEADER] = f"contract-{uuid.uuid4().hex}"
        case.headers = headers


# Sign-up names must be unique: generated ones repeat (and echo the fuzzing player's own), so a
# well-formed name is made unique per request, keeping its pattern; a malformed one is left as is.
SIGNUP_NAMES = {
    "site_id": (re.compile(r"^[A-Za-z0-9_]{4,32}$"), lambda token: f"c_{token[:20]}"),
    "nickname": (re.compile(r"^\w{2,20}$"), lambda token: f"N{token[:19]}"),
    "phone_number": (
        re.compile(r"^[\s\-().]*\+?(?:[\s\-().]*[0-9]){9,15}[\s\-().]*$"),
        lambda token: "010" + str(int(token[:12], 16))[-8:].rjust(8, "0"),
    ),
}


@schemathesis.hook("before_call")
def unique_signup_names(ctx: Any, case: Any, **kwargs: Any) -> None:
    if case.operation.path != "/api/auth/signup" or not isinstance(case.body, dict):
        return
    token = uuid.uuid4().hex
    for name, (pattern, unique) in SIGNUP_NAMES.items():
        value = case.body.get(name)
        if isinstance(value, str) and pattern.fullmatch(value):
            case.body[name] = unique(token)
