"""Batch import of players from CSV (``manage.py import_users`` and the admin import page).

Invariants:
- every row carries a birth date (``YYYY-MM-DD``) that passes the age gate, like signup: no
  imported account can exist without one (docs/decisions/0171);
- the file is read as a stream, ``chunk_size`` rows at a time: memory does not grow with the file
  (only the keys already accepted, to catch duplicates across chunks, and a capped error list);
- every row is checked with the signup rules (``accounts.validators``, Django's password
  validators, unique site_id / nickname (case-insensitive) / phone, and no site_id or nickname
  that looks like another player's, in the database and earlier in the file); a row with any
  error is skipped and reported with its line number;
- a row is imported whole or not at all: user, wallet and signup-bonus ledger entry are created by
  ``user_create`` (the same code as signup) inside the chunk's transaction; each chunk commits on
  its own, so a failure stops the import after the last committed chunk and never leaves half a row;
- a dry run performs every check and writes nothing;
- a real import writes one ``users_import`` audit row with the totals (also when it stops early).
"""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import identify_hasher, make_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts import exceptions, validators
from accounts.models import Rank, User
from accounts.selectors import login_names_taken
from accounts.validators import login_skeleton
from casinoclub.queueing import task_enqueue_after_commit

from .audit import audit_log_record
from .auth import password_problems, user_create
from .responsible import age_on

REQUIRED_COLUMNS = ("site_id", "nickname", "phone_number", "password", "birth_date")
LOGIN_NAME_COLUMNS = ("site_id", "nickname")
OPTIONAL_COLUMNS = ("rank",)
MAX_PASSWORD_LENGTH = 128  # as the signup route
MAX_FIELD_LENGTH = 200  # anything longer is refused before any rule runs
DEFAULT_CHUNK_SIZE = 500
DEFAULT_MAX_REPORTED_ERRORS = 1000
PREVIEW_ROWS = 20


@dataclass(frozen=True)
class ImportRowError:
    """Why one CSV line was not imported: messages by column (``row`` for the whole line)."""

    line: int
    errors: dict[str, list[str]]


@dataclass
class UserImportReport:
    dry_run: bool
    rows: int = 0
    valid: int = 0
    created: int = 0
    error_count: int = 0
    errors: list[ImportRowError] = field(default_factory=list)  # the first max_reported_errors
    preview: list[dict[str, Any]] = field(default_factory=list)  # the first valid rows, no password
    sha256: str = ""  # of the text read (UTF-8): names the imported file in the audit row
    completed: bool = False  # False: stopped by an unexpected error after ``created`` users

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "rows": self.rows,
            "valid": self.valid,
            "created": self.created,
            "error_count": self.error_count,
            "errors": [{"line": e.line, "errors": e.errors} for e in self.errors],
            "preview": self.preview,
            "sha256": self.sha256,
            "completed": self.completed,
        }


@dataclass
class _Row:
    line: int
    values: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)

    def fail(self, column: str, message: str) -> None:
        self.errors.setdefault(column, []).append(message)


class _HashingLines:
    """Iterates the text lines of a stream while hashing what was read (UTF-8)."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self.digest = hashlib.sha256()

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.digest.update(line.encode("utf-8"))
        return line


def _read_rows(lines: _HashingLines) -> Iterator[_Row]:
    reader = csv.DictReader(lines, strict=True)
    try:
        header = reader.fieldnames
    except (csv.Error, UnicodeDecodeError) as error:
        raise exceptions.ImportFileInvalid(f"Line 1: {error}") from error
    if not header:
        raise exceptions.ImportFileInvalid("The file is empty: expected a header line.")
    columns = [name.strip() for name in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    unknown = [name for name in columns if name not in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)]
    if missing or unknown or len(set(columns)) != len(columns):
        raise exceptions.ImportFileInvalid(
            "Line 1: the header must name the columns " + ",".join(REQUIRED_COLUMNS) + "[,rank]",
            details={"missing": missing, "unknown": unknown},
        )
    reader.fieldnames = columns
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as error:
            raise exceptions.ImportFileInvalid(
                f"Line {reader.line_num + 1}: the file cannot be read as UTF-8 CSV ({error})."
            ) from error
        row = _Row(line=reader.line_num, values={})
        extra = record.pop(None, None)  # DictReader puts surplus values under the key None
        if extra:
            row.fail("row", f"{len(columns) + len(extra)} values; the header has {len(columns)}.")
        for name in columns:
            value = record.get(name)
            if value is None:
                if name in REQUIRED_COLUMNS:
                    row.fail("row", f"Missing value for {name}.")
                value = ""
            row.values[name] = value
        yield row


def _check_fields(row: _Row, *, password_is_hashed: bool = False) -> None:
    """The signup rules, one column at a time; normalizes the values it accepts.

    ``password_is_hashed``: the row was checked and its password hashed at the admin preview
    (staged rows), so only the hash's format is checked here.
    """
    values = row.values
    for name, value in values.items():
        if len(value) > MAX_FIELD_LENGTH:
            row.fail(name, f"At most {MAX_FIELD_LENGTH} characters.")
    if row.errors:
        return
    normalizers: dict[str, Callable[[str], str]] = {
        "site_id": validators.normalize_site_id,
        "nickname": validators.normalize_nickname,
        "phone_number": validators.normalize_phone_number,
    }
    for name, normalize in normalizers.items():
        try:
            values[name] = normalize(values[name])
        except ValidationError as error:
            for message in error.messages:
                row.fail(name, message)
    _check_birth_date(row)
    rank = values.get("rank", "").strip().upper() or Rank.STANDARD
    if rank not in Rank.values:
        row.fail("rank", "One of " + ", ".join(Rank.values) + " (empty: STANDARD).")
    values["rank"] = rank
    password = values["password"]
    if password_is_hashed:
        if not _is_password_hash(password):
            row.fail("password", "The staged password is not a password hash.")
    elif not password or len(password) > MAX_PASSWORD_LENGTH:
        row.fail("password", f"1–{MAX_PASSWORD_LENGTH} characters.")
    elif not row.errors:
        for message in password_problems(
            password,
            site_id=values["site_id"],
            nickname=values["nickname"],
            phone_number=values["phone_number"],
        ):
            row.fail("password", message)


def _check_birth_date(row: _Row) -> None:
    """``birth_date``: a ``YYYY-MM-DD`` date of someone at least ``PLAYER_MINIMUM_AGE`` today."""
    value = row.values.get("birth_date", "").strip()  # absent: staged before it was required
    try:
        if len(value) != len("YYYY-MM-DD"):
            raise ValueError(value)
        birth_date = date.fromisoformat(value)
    except ValueError:
        row.fail("birth_date", "A date YYYY-MM-DD is required.")
        return
    row.values["birth_date"] = birth_date.isoformat()
    minimum_age = settings.PLAYER_MINIMUM_AGE
    if age_on(birth_date, timezone.localdate()) < minimum_age:
        row.fail("birth_date", f"Players must be at least {minimum_age}.")


class _Duplicates:
    """Keys accepted earlier in the file (lower-cased nickname), with the line that took them."""

    def __init__(self) -> None:
        self.site_ids: dict[str, int] = {}
        self.nicknames: dict[str, int] = {}
        self.phone_numbers: dict[str, int] = {}
        self.skeletons: dict[str, int] = {}  # look-alike site_ids and nicknames share these

    def check_chunk(self, rows: list[_Row]) -> None:
        candidates = [row for row in rows if not row.errors]
        site_ids = {row.values["site_id"] for row in candidates}
        nicknames = {row.values["nickname"].lower() for row in candidates}
        phones = {row.values["phone_number"] for row in candidates}
        taken_site_ids = set(
            User.objects.filter(site_id__in=site_ids).values_list("site_id", flat=True)
        )
        taken_nicknames = set(
            User.objects.annotate(nickname_lower=Lower("nickname"))
            .filter(nickname_lower__in=nicknames)
            .values_list("nickname_lower", flat=True)
        )
        taken_phones = set(
            User.objects.filter(phone_number__in=phones).values_list("phone_number", flat=True)
        )
        taken_skeletons = login_names_taken(
            {login_skeleton(row.values[name]) for row in candidates for name in LOGIN_NAME_COLUMNS}
        )
        for row in candidates:
            keys = (
                ("site_id", row.values["site_id"], taken_site_ids, self.site_ids),
                ("nickname", row.values["nickname"].lower(), taken_nicknames, self.nicknames),
                ("phone_number", row.values["phone_number"], taken_phones, self.phone_numbers),
            )
            for name, key, taken, seen in keys:
                if key in seen:  # first: an earlier chunk's row may be in the database already
                    row.fail(name, f"Same as line {seen[key]}.")
                elif key in taken:
                    row.fail(name, "Already registered.")
            if row.errors:  # refused already: look-alike reasons would only add noise
                continue
            row_skeletons = {name: login_skeleton(row.values[name]) for name in LOGIN_NAME_COLUMNS}
            for name, skeleton in row_skeletons.items():
                if skeleton in self.skeletons:
                    row.fail(name, f"Looks like a name on line {self.skeletons[skeleton]}.")
                elif skeleton in taken_skeletons:
                    row.fail(name, "Looks like a registered site ID or nickname.")
            if not row.errors:
                for _name, key, _taken, seen in keys:
                    seen[key] = row.line
                for skeleton in row_skeletons.values():
                    self.skeletons[skeleton] = row.line


def _is_password_hash(value: str) -> bool:
    try:
        identify_hasher(value)
    except ValueError:
        return False
    return True


def _create_chunk(rows: list[_Row], *, password_is_hashed: bool = False) -> int:
    """Create the valid rows of one chunk in one transaction; rows refused by a unique constraint
    (a concurrent signup) get an error instead. Returns how many users were created."""
    hashes = {
        row.line: row.values["password"]
        if password_is_hashed
        else make_password(row.values["password"])
        for row in rows
    }
    created = 0
    with transaction.atomic(durable=True):
        for row in rows:
            try:
                user_create(
                    site_id=row.values["site_id"],
                    nickname=row.values["nickname"],
                    phone_number=row.values["phone_number"],
                    password_hash=hashes[row.line],
                    rank=row.values["rank"],
                    birth_date=date.fromisoformat(row.values["birth_date"]),
                )
            except (
                exceptions.SiteIdTaken,
                exceptions.NicknameTaken,
                exceptions.PhoneNumberTaken,
            ) as error:
                column = {
                    exceptions.SiteIdTaken: "site_id",
                    exceptions.NicknameTaken: "nickname",
                    exceptions.PhoneNumberTaken: "phone_number",
                }[type(error)]
                row.fail(column, "Already registered.")
            else:
                created += 1
    return created


def users_import_csv(
    lines: Iterable[str],
    *,
    dry_run: bool,
    actor: User | None,
    source: str,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    max_reported_errors: int = DEFAULT_MAX_REPORTED_ERRORS,
    on_progress: Callable[[int], None] | None = None,
    on_error: Callable[[ImportRowError], None] | None = None,
) -> UserImportReport:
    """Import players from CSV lines: header
    ``site_id,nickname,phone_number,password,birth_date[,rank]``.

    ``lines`` is any iterable of text lines (an open file, a decoded upload); it is consumed once.
    ``on_progress(n)`` is called after each chunk with the rows it held, ``on_error`` for every
    skipped row. ``actor`` (None: ``manage.py``) and ``source`` go to the audit row.

    Raises ``ImportFileInvalid`` for a file that is not a readable CSV with the right header (rows
    of earlier chunks stay imported: see the report's ``completed``). Not idempotent: rows already
    imported are reported as "Already registered." on a second run.
    """
    hashing = _HashingLines(lines)
    return _users_import_rows(
        _read_rows(hashing),
        digest=lambda: hashing.digest.hexdigest(),
        dry_run=dry_run,
        actor=actor,
        source=source,
        chunk_size=chunk_size,
        max_reported_errors=max_reported_errors,
        on_progress=on_progress,
        on_error=on_error,
    )


def _users_import_rows(
    rows: Iterable[_Row],
    *,
    digest: Callable[[], str],
    dry_run: bool,
    actor: User | None,
    source: str,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    max_reported_errors: int = DEFAULT_MAX_REPORTED_ERRORS,
    on_progress: Callable[[int], None] | None = None,
    on_error: Callable[[ImportRowError], None] | None = None,
    on_valid: Callable[[_Row], None] | None = None,
    password_is_hashed: bool = False,
    report: UserImportReport | None = None,
) -> UserImportReport:
    """``users_import_csv`` over rows already read. ``on_valid`` sees every row that passed (the
    admin preview stages them); ``report`` may carry totals of rows checked earlier."""
    report = report or UserImportReport(dry_run=dry_run)
    duplicates = _Duplicates()

    def flush(chunk: list[_Row]) -> None:
        for row in chunk:
            _check_fields(row, password_is_hashed=password_is_hashed)
        duplicates.check_chunk(chunk)
        valid = [row for row in chunk if not row.errors]
        if not dry_run and valid:
            report.created += _create_chunk(valid, password_is_hashed=password_is_hashed)
        for row in chunk:
            if row.errors:
                report.error_count += 1
                error = ImportRowError(line=row.line, errors=row.errors)
                if len(report.errors) < max_reported_errors:
                    report.errors.append(error)
                if on_error is not None:
                    on_error(error)
            else:
                report.valid += 1
                if on_valid is not None:
                    on_valid(row)
                if len(report.preview) < PREVIEW_ROWS:
                    report.preview.append(
                        {
                            "line": row.line,
                            **{k: v for k, v in row.values.items() if k != "password"},
                        }
                    )
        report.rows += len(chunk)
        if on_progress is not None:
            on_progress(len(chunk))

    try:
        chunk: list[_Row] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= chunk_size:
                flush(chunk)
                chunk = []
        if chunk:
            flush(chunk)
        report.completed = True
    finally:
        report.sha256 = digest()
        if not dry_run:
            with transaction.atomic():
                audit_log_record(
                    actor=actor,
                    action="users_import",
                    target=source[:200],
                    after={
                        "rows": report.rows,
                        "created": report.created,
                        "errors": report.error_count,
                        "completed": report.completed,
                        "sha256": report.sha256,
                    },
                )
    return report


# ---------------------------------------------------------------- admin imports: staged in Redis
# The admin previews an upload (dry run), then confirms it; the import itself runs in a Celery
# worker. Between the two steps the checked rows wait in Redis, not on a web process's disk: any
# replica can take the confirm, any worker the import. Only rows that passed the preview are
# staged, with their passwords already hashed (``make_password``): no plaintext password is ever
# written to Redis or to the task queue (docs/decisions/0135-abuse-hardening.md).

STAGE_TIMEOUT_SECONDS = 60 * 60
_STAGE_KEY = "accounts:user_import:{token}:file"
_STATUS_KEY = "accounts:user_import:{token}:status"


def _text_lines(content: bytes) -> Iterable[str]:
    return io.TextIOWrapper(io.BytesIO(content), encoding="utf-8-sig", newline="")


def user_import_preview(*, content: bytes, actor: User) -> tuple[str, UserImportReport]:
    """Check an uploaded CSV (a dry run) and stage its valid rows for ``user_import_confirm``.

    Returns a token naming the staged rows, and the dry-run report. Raises ``ImportFileInvalid``
    (nothing staged then), also when more than ``USER_IMPORT_ADMIN_MAX_ROWS`` rows are valid.
    Writes nothing to the database. Hashes the password of every valid row (the production
    hasher's cost per row is paid here, see docs/decisions/0135).
    """
    valid_rows: list[_Row] = []
    hashing = _HashingLines(_text_lines(content))
    report = _users_import_rows(
        _read_rows(hashing),
        digest=lambda: hashing.digest.hexdigest(),
        dry_run=True,
        actor=actor,
        source="admin preview",
        on_valid=valid_rows.append,
    )
    limit = settings.USER_IMPORT_ADMIN_MAX_ROWS
    if len(valid_rows) > limit:
        raise exceptions.ImportFileInvalid(
            f"{len(valid_rows)} rows can be imported; this page takes at most {limit}. "
            "Import larger files with manage.py import_users."
        )
    staged_rows = [
        {
            "line": row.line,
            "values": {**row.values, "password": make_password(row.values["password"])},
        }
        for row in valid_rows
    ]
    token = secrets.token_urlsafe(16)
    cache.set(
        _STAGE_KEY.format(token=token),
        {
            "actor_id": actor.pk,
            "rows": staged_rows,
            "sha256": report.sha256,
            "preview_rows": report.rows,
            "preview_errors": [
                {"line": error.line, "errors": error.errors} for error in report.errors
            ],
            "preview_error_count": report.error_count,
        },
        STAGE_TIMEOUT_SECONDS,
    )
    return token, report


def user_import_status(token: str) -> dict[str, Any] | None:
    """``{"state": "queued" | "running" | "done" | "failed", ...}`` or None for an unknown token."""
    status: dict[str, Any] | None = cache.get(_STATUS_KEY.format(token=token))
    return status


def user_import_confirm(*, token: str, actor: User) -> bool:
    """Queue the import of the rows ``actor`` staged under ``token``. Idempotent: a second confirm
    of the same token queues nothing. False when the token is unknown, expired or someone else's."""
    staged = cache.get(_STAGE_KEY.format(token=token))
    if staged is None or staged["actor_id"] != actor.pk:
        return False
    if not cache.add(_STATUS_KEY.format(token=token), {"state": "queued"}, STAGE_TIMEOUT_SECONDS):
        return True
    from accounts.tasks import users_import_task  # the task module imports this one

    task_enqueue_after_commit(users_import_task, token=token, actor_id=actor.pk)
    return True


def _staged_report(staged: dict[str, Any]) -> UserImportReport:
    """A report that starts with what the preview skipped, so the totals cover the whole file."""
    report = UserImportReport(dry_run=False)
    report.rows = staged["preview_rows"] - len(staged["rows"])
    report.error_count = staged["preview_error_count"]
    report.errors = [
        ImportRowError(line=error["line"], errors=error["errors"])
        for error in staged["preview_errors"]
    ]
    return report


def user_import_run_staged(*, token: str, actor_id: int) -> dict[str, Any]:
    """Import staged, confirmed rows (the Celery task). Records progress under the token.

    The rows are checked again (players may have signed up since the preview); their passwords
    are the hashes made at the preview.
    """
    status_key = _STATUS_KEY.format(token=token)
    staged = cache.get(_STAGE_KEY.format(token=token))
    actor = User.objects.filter(pk=actor_id, is_staff=True).first()
    if staged is None or actor is None or staged["actor_id"] != actor_id:
        status: dict[str, Any] = {"state": "failed", "message": "The staged file has expired."}
        cache.set(status_key, status, STAGE_TIMEOUT_SECONDS)
        return status
    processed = 0

    def progress(rows: int) -> None:
        nonlocal processed
        processed += rows
        cache.set(status_key, {"state": "running", "processed": processed}, STAGE_TIMEOUT_SECONDS)

    rows = (_Row(line=row["line"], values=dict(row["values"])) for row in staged["rows"])
    try:
        report = _users_import_rows(
            rows,
            digest=lambda: str(staged["sha256"]),
            dry_run=False,
            actor=actor,
            source=f"admin upload sha256:{staged['sha256'][:16]}",
            on_progress=progress,
            password_is_hashed=True,
            report=_staged_report(staged),
        )
    except Exception:
        message = "The import stopped on an unexpected error (see the worker log)."
        status = {"state": "failed", "message": message, "processed": processed}
        cache.set(status_key, status, STAGE_TIMEOUT_SECONDS)
        raise
    else:
        status = {"state": "done", "report": report.as_dict()}
    finally:
        cache.delete(_STAGE_KEY.format(token=token))
    cache.set(status_key, status, STAGE_TIMEOUT_SECONDS)
    return status
