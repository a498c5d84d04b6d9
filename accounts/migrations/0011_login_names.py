import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from accounts.validators import login_skeleton

BATCH = 2000


def register_existing_names(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Register every player's site_id and nickname skeletons, oldest account first.

    Look-alike names that already exist are left as they are: the older account keeps the
    skeleton and the newer one's name is simply not registered (it cannot be taken over, and it
    is listed in the migration's output for staff to resolve).
    """
    User = apps.get_model("accounts", "User")
    LoginName = apps.get_model("accounts", "LoginName")
    owners: dict[str, int] = {}
    clashes: list[str] = []
    users = User.objects.order_by("pk").values_list("pk", "site_id", "nickname")
    for pk, site_id, nickname in users.iterator(chunk_size=BATCH):
        for name in (site_id, nickname):
            skeleton = login_skeleton(name)
            owner = owners.setdefault(skeleton, pk)
            if owner != pk:
                clashes.append(f"user {pk} {name!r} looks like a name of user {owner}")
    rows = [LoginName(skeleton=skeleton, user_id=pk) for skeleton, pk in owners.items()]
    LoginName.objects.bulk_create(rows, batch_size=BATCH, ignore_conflicts=True)
    for clash in clashes:
        print(f"\n  look-alike login name left unregistered: {clash}")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0010_staff_roles"),
    ]

    operations = [
        migrations.CreateModel(
            name="LoginName",
            fields=[
                ("skeleton", models.CharField(max_length=400, primary_key=True, serialize=False)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="login_names",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        migrations.RunPython(register_existing_names, migrations.RunPython.noop),
    ]
