from datetime import date
from typing import Any

import factory
from django.contrib.auth.models import Group, Permission

from accounts.models import InviteCode, User

PASSWORD = "Str0ng-passw0rd!"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    site_id = factory.Sequence(lambda n: f"player{n:04d}")
    nickname = factory.Sequence(lambda n: f"Nick{n:04d}")
    phone_number = factory.Sequence(lambda n: f"010{n:08d}")
    birth_date = date(1990, 1, 1)  # passed the age gate, like every account made today
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            obj.save(update_fields=["password"])


class InviteCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InviteCode

    code = factory.Sequence(lambda n: f"CODE{n:04d}")
    max_uses = 10


def staff_member(role: str | None = None, **kwargs: Any) -> User:
    """A staff account in one of the roles of ``accounts.roles`` (None: no role, no permission)."""
    user = UserFactory(is_staff=True, **kwargs)
    if role is not None:
        user.groups.add(Group.objects.get(name=role))
    return user


def model_view_permissions() -> list[Permission]:
    """Every model's own view permission (``view_<model>``), no custom permission."""
    return [
        permission
        for permission in Permission.objects.select_related("content_type")
        if permission.codename == f"view_{permission.content_type.model}"
    ]


def view_only_staff(**kwargs: Any) -> User:
    """A staff account that may see every admin page and change nothing."""
    user = UserFactory(is_staff=True, **kwargs)
    user.user_permissions.set(model_view_permissions())
    return user
