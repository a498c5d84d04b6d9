"""Default streak reward table and achievement catalog: literal rows, editable in admin after.

Achievements a single round or purchase can reach pay XP only, no gold: the first round's or
purchase's ledger stays exactly bet/win or purchase (docs/decisions/0024-achievements.md).
"""

from django.db import migrations

STREAK_REWARDS = [(1, 100), (2, 150), (3, 200), (4, 250), (5, 300), (6, 400), (7, 500)]

# code, name, description, metric, threshold, reward_gold, reward_xp, display_order
ACHIEVEMENTS = [
    ("first_round", "First round", "Play your first round.", "games_played", 1, 0, 10, 10),
    ("rounds_100", "Regular", "Play 100 rounds.", "games_played", 100, 1000, 100, 20),
    ("rounds_1000", "Veteran", "Play 1,000 rounds.", "games_played", 1000, 5000, 500, 30),
    ("bet_100k", "High roller", "Bet 100,000 gold in total.", "cumulative_bet", 100000, 2000, 200, 40),
    ("win_50k", "Big winner", "Win 50,000 gold in total.", "total_win", 50000, 2000, 200, 50),
    ("win_streak_5", "Hot hand", "Win 5 rounds in a row.", "win_streak", 5, 500, 50, 60),
    ("multiplier_10x", "Ten times", "Win 10x your bet in one round.", "biggest_multiplier", 1000, 0, 25, 70),
    ("streak_7", "Loyal week", "Claim the daily reward 7 days in a row.", "streak_days", 7, 1000, 100, 80),
    ("streak_30", "Loyal month", "Claim the daily reward 30 days in a row.", "streak_days", 30, 5000, 300, 90),
    ("first_purchase", "Supporter", "Make your first shop purchase.", "purchases", 1, 0, 50, 100),
]


def seed(apps, schema_editor):
    StreakReward = apps.get_model("gamification", "StreakReward")
    Achievement = apps.get_model("gamification", "Achievement")
    for day, gold in STREAK_REWARDS:
        StreakReward.objects.get_or_create(day=day, defaults={"gold": gold})
    for code, name, description, metric, threshold, gold, xp, order in ACHIEVEMENTS:
        Achievement.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "description": description,
                "metric": metric,
                "threshold": threshold,
                "reward_gold": gold,
                "reward_xp": xp,
                "display_order": order,
            },
        )


def unseed(apps, schema_editor):
    apps.get_model("gamification", "StreakReward").objects.filter(
        day__in=[day for day, _ in STREAK_REWARDS]
    ).delete()
    apps.get_model("gamification", "Achievement").objects.filter(
        code__in=[row[0] for row in ACHIEVEMENTS], unlocks__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("gamification", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
