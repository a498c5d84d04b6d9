"""The progression projection is set-based: a batch costs the same statements however many
events it holds, and level-up and achievement rewards are paid once each."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import LedgerEntry, User
from accounts.selectors import experience_for_next_level
from accounts.services.progression import level_up_reward
from casinoclub import domain_events
from casinoclub.projections import events_of_types
from casinoclub.tests.projection_helpers import caught_up
from games.tests.factories import funded_player
from gamification.models import AchievementUnlock, PlayerProgress, SeasonProgress
from gamification.projections import progression_apply
from gamification.tests.factories import AchievementFactory, SeasonFactory

pytestmark = pytest.mark.django_db


def _rounds(user: User, count: int, bet: int = 10, payout: int = 0) -> None:
    with transaction.atomic():
        for index in range(count):
            domain_events.domain_event_record(
                domain_events.RoundSettled(
                    user_id=user.pk,
                    round_id=index + 1,
                    game="slot",
                    bet=bet,
                    payout=payout,
                    multiplier_x100=payout * 100 // bet,
                )
            )


def _statements_of_batch(users: list[User]) -> int:
    ids = {user.pk for user in users}
    events = [e for e in events_of_types(frozenset({"round_settled"})) if e.user_id in ids]
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        progression_apply(events)
    return len(queries)


def test_a_batch_of_ten_rounds_each_costs_the_statements_of_one_round_each(no_achievements):
    # given three players with one logged round each and three with ten each
    SeasonFactory()
    small = [funded_player(1000) for _ in range(3)]
    large = [funded_player(1000) for _ in range(3)]
    for user in small:
        _rounds(user, 1)
    for user in large:
        _rounds(user, 10)

    # when each group's rounds are applied as one progression batch
    one_each = _statements_of_batch(small)
    ten_each = _statements_of_batch(large)

    # then the batch of 30 rounds ran exactly the statements of the batch of 3
    assert ten_each == one_each
    assert [PlayerProgress.objects.get(user=user).rounds_played for user in large] == [10] * 3


def test_a_batch_that_crosses_levels_and_an_achievement_pays_each_once(no_achievements):
    # given a running season, an achievement at the 30th round, and 60 logged rounds of 50 XP
    season = SeasonFactory()
    AchievementFactory(code="thirty", threshold=30, reward_gold=70, reward_xp=7)
    player = funded_player(0)
    _rounds(player, 60, bet=500)

    # when the projections apply them (twice: the second run finds nothing)
    caught_up()
    caught_up()

    # then the XP is every round's plus the achievement's, with the levels the rule gives
    level, experience, reached = 1, 60 * 50 + 7, []
    while experience >= experience_for_next_level(level):
        experience -= experience_for_next_level(level)
        level += 1
        reached.append(level)
    user = User.objects.get(pk=player.pk)
    assert (user.level, user.experience, user.level_rewards_paid_through) == (
        level,
        experience,
        level,
    )
    assert len(reached) >= 2
    # each level's reward and the achievement's once, through the ledger
    level_ups = LedgerEntry.objects.filter(wallet_id=player.pk, reason="level_up").order_by("id")
    assert list(level_ups.values_list("idempotency_key", "delta")) == [
        (f"level-up:{reached_level}", level_up_reward(reached_level)) for reached_level in reached
    ]
    rewards = LedgerEntry.objects.filter(wallet_id=player.pk, reason="achievement_reward")
    assert list(rewards.values_list("delta", flat=True)) == [70]
    assert AchievementUnlock.objects.get(user=player).value == 30
    # and the battle pass follows every XP source of the batch
    assert SeasonProgress.objects.get(user=player, season=season).xp == 60 * 50 + 7
