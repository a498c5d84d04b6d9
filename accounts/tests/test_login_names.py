"""The look-alike registry: skeletons, and the migration that registers existing players."""

import importlib

import pytest
from django.apps import apps

from accounts.models import LoginName, User
from accounts.validators import login_skeleton

migration = importlib.import_module("accounts.migrations.0011_login_names")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("admin", "ADMIN"),
        ("admin", "Аdmin"),  # Cyrillic А
        ("paypal", "раураl"),  # Cyrillic р, а, у
        ("bob", "B0B"),
        ("bill", "B1lI"),
        ("bob", "Ｂｏｂ"),  # full-width
        ("jose", "José"),
        ("modem", "modern"),
        ("김철수", "김철수"),
    ],
)
def test_look_alikes_share_a_skeleton(first, second):
    assert login_skeleton(first) == login_skeleton(second)


@pytest.mark.parametrize(("first", "second"), [("bob", "rob"), ("김철수", "김영희"), ("ab", "abc")])
def test_different_names_keep_different_skeletons(first, second):
    assert login_skeleton(first) != login_skeleton(second)


@pytest.mark.django_db
def test_the_migration_registers_existing_names_and_leaves_clashes_to_the_older_account(capsys):
    # given players saved before the registry existed, two of whom already look alike
    older, newer, other = User.objects.bulk_create(
        [
            User(site_id="alpha1", nickname="Alpha", phone_number="01000000001"),
            User(site_id="beta01", nickname="ALPHA1", phone_number="01000000002"),
            User(site_id="gamma1", nickname="Gamma1", phone_number="01000000003"),
        ]
    )
    LoginName.objects.all().delete()

    # when the migration's backfill runs
    migration.register_existing_names(apps, None)

    # then every skeleton has its oldest owner, and the clash is reported
    assert sorted(LoginName.objects.values_list("skeleton", "user_id")) == sorted(
        [
            ("alphal", older.pk),
            ("alpha", older.pk),
            ("betaol", newer.pk),
            ("gammal", other.pk),
        ]
    )
    clash = f"user {newer.pk} 'ALPHA1' looks like a name of user {older.pk}"
    assert clash in capsys.readouterr().out
