from accounts import services as account_services
from accounts.models import LedgerReason
from accounts.tests.factories import UserFactory


def funded_player(gold: int = 10_000, **kwargs):  # type: ignore[no-untyped-def]
    user = UserFactory(**kwargs)
    account_services.wallet_open(user)
    if gold:
        account_services.wallet_credit(
            user.pk, gold, reason=LedgerReason.STAFF_GRANT, reference="test", idempotency_key="fund"
        )
    return user
