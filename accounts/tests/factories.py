import factory

from accounts.models import InviteCode, User

PASSWORD = "Str0ng-passw0rd!"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    site_id = factory.Sequence(lambda n: f"player{n:04d}")
    nickname = factory.Sequence(lambda n: f"Nick{n:04d}")
    phone_number = factory.Sequence(lambda n: f"010{n:08d}")
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
