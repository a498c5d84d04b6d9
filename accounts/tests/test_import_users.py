"""Batch user import: ``manage.py import_users`` and the admin upload → preview → confirm flow."""

import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from accounts import services
from accounts.models import AuditLogEntry, LedgerEntry, LedgerReason, User, Wallet
from accounts.tests.factories import UserFactory
from casinoclub.realtime.models import RealtimeMessage

HEADER = "site_id,nickname,phone_number,password,birth_date,rank\n"
GOOD_PASSWORD = "Import-passw0rd!"
IMPORT_URL = reverse("admin:accounts_user_import")


def good_row(n: int, rank: str = "") -> str:
    return f"imported{n:05d},Imported{n:05d},0109{n:07d},{GOOD_PASSWORD},1990-01-01,{rank}\n"


def write_csv(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "players.csv"
    path.write_text(header + "".join(rows), encoding="utf-8")
    return path


def run_import(path: Path, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("import_users", str(path), "--no-progress", *args, stdout=out)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue()
    return 0, out.getvalue()


def nothing_written() -> tuple[int, int, int, int, int]:
    return (
        User.objects.count(),
        Wallet.objects.count(),
        LedgerEntry.objects.count(),
        RealtimeMessage.objects.count(),
        AuditLogEntry.objects.count(),
    )


MIXED_ROWS = (
    good_row(1, "vip"),
    "bad id!,Nick2,01099999992,Import-passw0rd!,1990-01-01,\n",  # line 3: site_id
    good_row(3),
    "imported00004,Imported00001,01099999994,Import-passw0rd!,1990-01-01,\n",  # line 5: nickname of line 2
    "imported00005,Nick5,01099999995,12345678,1990-01-01,\n",  # line 6: numeric, common password
    "imported00006,Nick6,01099999996,Import-passw0rd!,1990-01-01,KING\n",  # line 7: rank
)
MIXED_ERRORS = [
    "line 3: site_id: 4–32 characters: letters, digits and underscores.",
    "line 5: nickname: Same as line 2.",
    "line 6: password: This password is too common. This password is entirely numeric.",
    "line 7: rank: One of STANDARD, PREMIUM, VIP (empty: STANDARD).",
]


@pytest.mark.django_db
def test_dry_run_reports_every_bad_row_with_its_line_and_writes_nothing(tmp_path):
    path = write_csv(tmp_path, *MIXED_ROWS)
    before = nothing_written()

    code, output = run_import(path, "--dry-run")

    assert code == 1
    assert output.splitlines() == [*MIXED_ERRORS, "6 rows: would import 2, skipped 4"]
    assert nothing_written() == before == (0, 0, 0, 0, 0)


@pytest.mark.django_db
def test_import_creates_valid_rows_like_signup_and_skips_the_others(tmp_path, settings):
    path = write_csv(tmp_path, *MIXED_ROWS)

    code, output = run_import(path)

    assert code == 1
    assert output.splitlines() == [*MIXED_ERRORS, "6 rows: imported 2, skipped 4"]
    users = {u.site_id: u for u in User.objects.all()}
    assert sorted(users) == ["imported00001", "imported00003"]
    assert (users["imported00001"].rank, users["imported00003"].rank) == ("VIP", "STANDARD")
    assert users["imported00001"].check_password(GOOD_PASSWORD)
    assert users["imported00001"].phone_number == "01090000001"
    # A wallet and the signup bonus as a ledger entry, exactly as signup does.
    assert sorted(
        LedgerEntry.objects.values_list("wallet__user__site_id", "delta", "reason", "reference")
    ) == [
        ("imported00001", settings.SIGNUP_BONUS_GOLD, LedgerReason.SIGNUP_BONUS,
         f"signup:{users['imported00001'].pk}"),
        ("imported00003", settings.SIGNUP_BONUS_GOLD, LedgerReason.SIGNUP_BONUS,
         f"signup:{users['imported00003'].pk}"),
    ]  # fmt: skip
    assert sorted(Wallet.objects.values_list("balance", flat=True)) == [1000, 1000]
    audit = AuditLogEntry.objects.get()
    assert (audit.actor, audit.action, audit.target) == (
        None,
        "users_import",
        "manage.py import_users players.csv",
    )
    assert {key: audit.after[key] for key in ("rows", "created", "errors", "completed")} == {
        "rows": 6,
        "created": 2,
        "errors": 4,
        "completed": True,
    }


@pytest.mark.django_db
def test_rows_clashing_with_existing_players_are_skipped(tmp_path):
    UserFactory(site_id="imported00001")
    UserFactory(nickname="IMPORTED00002")
    UserFactory(phone_number="01090000003")
    path = write_csv(tmp_path, good_row(1), good_row(2), good_row(3), good_row(4))

    code, output = run_import(path)

    assert code == 1
    assert output.splitlines() == [
        "line 2: site_id: Already registered.",
        "line 3: nickname: Already registered.",
        "line 4: phone_number: Already registered.",
        "4 rows: imported 1, skipped 3",
    ]
    assert User.objects.filter(site_id__startswith="imported").count() == 2  # 1 existing + 1 new


@pytest.mark.django_db
def test_duplicates_are_caught_across_chunks(tmp_path):
    again = f"imported00001,Other,01011112222,{GOOD_PASSWORD},1990-01-01,\n"
    path = write_csv(tmp_path, good_row(1), good_row(2), again)

    code, output = run_import(path, "--chunk-size", "1")

    assert code == 1
    assert output.splitlines() == [
        "line 4: site_id: Same as line 2.",
        "3 rows: imported 2, skipped 1",
    ]


@pytest.mark.django_db
def test_a_row_with_too_many_or_too_few_values_is_reported(tmp_path):
    path = write_csv(
        tmp_path,
        "shortrow,Short,0101234567\n",
        f"longrow01,Long,01012345678,{GOOD_PASSWORD},1990-01-01,VIP,extra\n",
    )

    code, output = run_import(path, "--dry-run")

    assert code == 1
    assert output.splitlines() == [
        "line 2: row: Missing value for password. Missing value for birth_date.",
        "line 3: row: 7 values; the header has 6.",
        "2 rows: would import 0, skipped 2",
    ]


@pytest.mark.django_db
def test_every_imported_row_needs_a_birth_date_that_passes_the_age_gate(tmp_path, settings):
    # given: a file whose rows lack a birth date, have a malformed one, or one under the age
    from django.utils import timezone

    today = timezone.localdate()
    turns_18_tomorrow = today.replace(year=today.year - 18) + timedelta(days=1)
    path = write_csv(
        tmp_path,
        f"nodate01,NoDate01,01077770001,{GOOD_PASSWORD},,\n",
        f"baddate1,BadDate1,01077770002,{GOOD_PASSWORD},17/05/1990,\n",
        f"minor001,Minor001,01077770003,{GOOD_PASSWORD},{turns_18_tomorrow.isoformat()},\n",
        f"adult001,Adult001,01077770004,{GOOD_PASSWORD},{(turns_18_tomorrow - timedelta(days=1)).isoformat()},\n",
    )  # fmt: skip

    # when
    code, output = run_import(path)

    # then: only the adult is imported, with the birth date on file
    assert code == 1
    assert output.splitlines() == [
        "line 2: birth_date: A date YYYY-MM-DD is required.",
        "line 3: birth_date: A date YYYY-MM-DD is required.",
        "line 4: birth_date: Players must be at least 18.",
        "4 rows: imported 1, skipped 3",
    ]
    assert list(User.objects.values_list("site_id", "birth_date")) == [
        ("adult001", turns_18_tomorrow - timedelta(days=1))
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("site_id,nickname,password\n", "Line 1: the header must name the columns"),
        ("site_id,nickname,phone_number,password,email\n", "Line 1: the header must name"),
        ("site_id,nickname,phone_number,password,rank\n", "Line 1: the header must name"),
        ("", "The file is empty"),
    ],
)
def test_a_file_with_a_wrong_header_imports_nothing(tmp_path, header, message):
    from django.core.management.base import CommandError

    path = write_csv(tmp_path, good_row(1) if header else "", header=header)

    with pytest.raises(CommandError) as error:
        run_import(path)

    assert str(error.value).startswith(message)
    assert User.objects.count() == 0


@pytest.mark.django_db
def test_ten_thousand_rows_import_in_one_command(tmp_path):
    path = tmp_path / "players.csv"
    with path.open("w", encoding="utf-8") as file:  # written as a stream, read as one
        file.write(HEADER)
        for n in range(10_000):
            file.write(good_row(n))

    code, output = run_import(path, "--chunk-size", "1000")

    assert (code, output) == (0, "10000 rows: imported 10000, skipped 0\n")
    assert User.objects.count() == 10_000
    assert Wallet.objects.filter(balance=1000).count() == 10_000
    assert LedgerEntry.objects.filter(reason=LedgerReason.SIGNUP_BONUS).count() == 10_000


@pytest.mark.django_db
def test_the_service_reads_lines_lazily_one_chunk_at_a_time():
    consumed: list[int] = []

    def lines():
        yield HEADER
        for n in range(5):
            consumed.append(n)
            yield good_row(n)

    progress: list[tuple[int, int]] = []
    report = services.users_import_csv(
        lines(),
        dry_run=True,
        actor=None,
        source="test",
        chunk_size=2,
        on_progress=lambda rows: progress.append((rows, len(consumed))),
    )

    # When a chunk is processed, no row after it has been read yet.
    assert progress == [(2, 2), (2, 4), (1, 5)]
    assert (report.rows, report.valid, report.error_count, report.created) == (5, 5, 0, 0)


# ---------------------------------------------------------------- admin: preview, confirm, status


@pytest.fixture
def staff(db):
    return UserFactory(site_id="staff", nickname="Staff", is_staff=True, is_superuser=True)


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def upload(rows: str, name: str = "players.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (HEADER + rows).encode(), content_type="text/csv")


@pytest.mark.django_db
def test_user_changelist_links_to_the_import_page(staff_client):
    response = staff_client.get(reverse("admin:accounts_user_changelist"))

    assert f'<a href="{IMPORT_URL}">Import users (CSV)</a>' in response.content.decode()


@pytest.mark.django_db
def test_admin_upload_shows_a_dry_run_preview_with_row_errors_and_writes_nothing(staff_client):
    before = nothing_written()

    response = staff_client.post(IMPORT_URL, {"file": upload("".join(MIXED_ROWS))})

    assert response.status_code == 200
    report = response.context["report"]
    assert (report.rows, report.valid, report.error_count) == (6, 2, 4)
    assert [(error.line, error.errors) for error in report.errors] == [
        (3, {"site_id": ["4–32 characters: letters, digits and underscores."]}),
        (5, {"nickname": ["Same as line 2."]}),
        (6, {"password": ["This password is too common.", "This password is entirely numeric."]}),
        (7, {"rank": ["One of STANDARD, PREMIUM, VIP (empty: STANDARD)."]}),
    ]
    assert [row["site_id"] for row in report.preview] == ["imported00001", "imported00003"]
    html = response.content.decode()
    assert "6 rows: 2 can be imported,\n  4 have errors" in html
    assert "Import 2 users" in html
    assert GOOD_PASSWORD not in html
    assert nothing_written() == before


@pytest.mark.django_db
def test_confirming_the_preview_imports_through_the_worker_and_shows_the_result(
    staff_client, staff, django_capture_on_commit_callbacks
):
    preview = staff_client.post(IMPORT_URL, {"file": upload("".join(MIXED_ROWS))})
    token = preview.context["token"]

    with django_capture_on_commit_callbacks(execute=True):
        confirm = staff_client.post(IMPORT_URL, {"token": token})

    status_url = reverse("admin:accounts_user_import_status", args=[token])
    assert (confirm.status_code, confirm["Location"]) == (302, status_url)
    assert sorted(User.objects.exclude(pk=staff.pk).values_list("site_id", flat=True)) == [
        "imported00001",
        "imported00003",
    ]
    status = staff_client.get(status_url)
    assert status.context["status"]["state"] == "done"
    assert "Done: 2 users imported from 6 rows,\n  4 skipped." in status.content.decode()
    audit = AuditLogEntry.objects.get(action="users_import")
    assert audit.actor == staff
    assert audit.after["created"] == 2


@pytest.mark.django_db
def test_a_second_confirm_of_the_same_preview_imports_nothing_more(
    staff_client, staff, django_capture_on_commit_callbacks
):
    token = staff_client.post(IMPORT_URL, {"file": upload(good_row(1))}).context["token"]
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(IMPORT_URL, {"token": token})

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = staff_client.post(IMPORT_URL, {"token": token})

    assert again.status_code == 302
    assert callbacks == []
    assert User.objects.exclude(pk=staff.pk).count() == 1
    assert AuditLogEntry.objects.filter(action="users_import").count() == 1


@pytest.mark.django_db
def test_another_staff_member_cannot_confirm_someone_elses_preview(
    client, staff_client, django_capture_on_commit_callbacks
):
    token = staff_client.post(IMPORT_URL, {"file": upload(good_row(1))}).context["token"]
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(IMPORT_URL, {"token": token})

    assert (response.status_code, response["Location"]) == (302, IMPORT_URL)
    assert not User.objects.filter(site_id="imported00001").exists()


@pytest.mark.django_db
def test_an_unreadable_upload_is_refused_on_the_form(staff_client):
    bad = SimpleUploadedFile("x.csv", b"name,email\nbob,bob@example.com\n")

    response = staff_client.post(IMPORT_URL, {"file": bad})

    assert response.status_code == 200
    assert (
        response.context["form"]
        .errors["file"][0]
        .startswith("Line 1: the header must name the columns")
    )
    assert User.objects.count() == 1  # the staff member


@pytest.mark.django_db
def test_players_cannot_reach_the_import_page(client, player):
    client.force_login(player)

    get = client.get(IMPORT_URL)
    post = client.post(IMPORT_URL, {"file": upload(good_row(1))})

    login_url = f"{reverse('admin:login')}?next={IMPORT_URL}"
    assert (get.status_code, get["Location"]) == (302, login_url)
    assert (post.status_code, post["Location"]) == (302, login_url)
    assert not User.objects.filter(site_id="imported00001").exists()


@pytest.mark.django_db
def test_staff_without_add_permission_gets_403(client):
    client.force_login(UserFactory(is_staff=True))

    response = client.post(IMPORT_URL, {"file": upload(good_row(1))})

    assert response.status_code == 403
    assert not User.objects.filter(site_id="imported00001").exists()


def _raw_redis_values(pattern: str) -> list[bytes]:
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    return [client.get(key) for key in client.scan_iter(match=pattern)]


@pytest.mark.django_db
def test_an_upload_is_staged_in_redis_with_hashed_passwords_only(staff_client):
    # given an upload with two valid rows and a row with an error
    rows = good_row(1) + good_row(2) + "imported00003,Nick3,01099999993,12345678,1990-01-01,\n"

    # when the staff member previews it
    token = staff_client.post(IMPORT_URL, {"file": upload(rows)}).context["token"]

    # then Redis holds the valid rows, each password as a hash that checks, and no plaintext
    raw = _raw_redis_values(f"*accounts:user_import:{token}:file")
    assert len(raw) == 1
    assert GOOD_PASSWORD.encode() not in raw[0]
    assert b"12345678," not in raw[0]
    from django.contrib.auth.hashers import check_password
    from django.core.cache import cache

    staged = cache.get(f"accounts:user_import:{token}:file")
    assert [row["values"]["site_id"] for row in staged["rows"]] == [
        "imported00001",
        "imported00002",
    ]
    assert all(check_password(GOOD_PASSWORD, row["values"]["password"]) for row in staged["rows"])
    assert "content" not in staged


@pytest.mark.django_db
def test_the_staged_import_logs_players_in_with_their_csv_password(
    staff_client, django_capture_on_commit_callbacks
):
    token = staff_client.post(IMPORT_URL, {"file": upload(good_row(1))}).context["token"]

    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(IMPORT_URL, {"token": token})

    assert User.objects.get(site_id="imported00001").check_password(GOOD_PASSWORD)


@pytest.mark.django_db
def test_a_staged_row_whose_password_is_not_a_hash_is_refused(staff):
    # given a staged payload tampered with to carry a plaintext password
    from django.core.cache import cache

    token = "tampered"
    cache.set(
        f"accounts:user_import:{token}:file",
        {
            "actor_id": staff.pk,
            "rows": [
                {
                    "line": 2,
                    "values": {
                        "site_id": "imported00001",
                        "nickname": "Imported00001",
                        "phone_number": "01090000001",
                        "password": GOOD_PASSWORD,
                        "birth_date": "1990-01-01",
                        "rank": "STANDARD",
                    },
                }
            ],
            "sha256": "0" * 64,
            "preview_rows": 1,
            "preview_errors": [],
            "preview_error_count": 0,
        },
    )

    # when the worker runs it
    status = services.user_import_run_staged(token=token, actor_id=staff.pk)

    # then the row is skipped
    assert status["report"]["created"] == 0
    assert status["report"]["errors"] == [
        {"line": 2, "errors": {"password": ["The staged password is not a password hash."]}}
    ]
    assert not User.objects.filter(site_id="imported00001").exists()


@pytest.mark.django_db
def test_rows_whose_names_look_like_a_registered_or_earlier_name_are_skipped(tmp_path):
    # given a player nicknamed "Famous" and a file that reuses that name and look-alikes
    UserFactory(site_id="owner01", nickname="Famous")
    rows = (
        f"famous,Someone,01090000001,{GOOD_PASSWORD},1990-01-01,\n",  # line 2: site_id = a nickname
        f"newcomer,Fam0us,01090000002,{GOOD_PASSWORD},1990-01-01,\n",  # line 3: 0 for O
        f"bravo01,Bravo,01090000003,{GOOD_PASSWORD},1990-01-01,\n",  # line 4: imported
        f"charlie01,BRAV0,01090000004,{GOOD_PASSWORD},1990-01-01,\n",  # line 5: like line 4's nickname
    )
    path = write_csv(tmp_path, *rows)

    code, output = run_import(path)

    assert code == 1
    assert output.splitlines() == [
        "line 2: site_id: Looks like a registered site ID or nickname.",
        "line 3: nickname: Looks like a registered site ID or nickname.",
        "line 5: nickname: Looks like a name on line 4.",
        "4 rows: imported 1, skipped 3",
    ]
    assert sorted(User.objects.values_list("site_id", flat=True)) == ["bravo01", "owner01"]


@pytest.mark.django_db
def test_an_upload_with_more_rows_than_the_admin_page_takes_is_refused_before_hashing(
    staff_client, settings, monkeypatch
):
    # given a page limit of 2 rows and a file with 3 valid rows
    settings.USER_IMPORT_ADMIN_MAX_ROWS = 2
    hashed: list[str] = []
    monkeypatch.setattr(
        "accounts.services.imports.make_password", lambda password: hashed.append(password)
    )

    response = staff_client.post(
        IMPORT_URL, {"file": upload(good_row(1) + good_row(2) + good_row(3))}
    )

    # then the form says why, nothing is hashed, staged or written
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == [
        "3 rows can be imported; this page takes at most 2. "
        "Import larger files with manage.py import_users."
    ]
    assert hashed == []
    assert _raw_redis_values("*accounts:user_import:*") == []
    assert not User.objects.filter(site_id__startswith="imported").exists()
