"""Default daily and weekly missions (literal rows; staff edit them in admin)."""

from django.db import migrations

MISSIONS = [
    # code, title, description, period, requirement_type, game, target, reward_gold, reward_xp
    ("daily-slot-spins", "Spin the slot 10 times", "Play 10 slot rounds today.",
     "daily", "plays", "slot", 10, 200, 30),
    ("daily-wins", "Win 3 rounds", "Win 3 rounds of any game today.",
     "daily", "wins", "", 3, 300, 40),
    ("daily-gold-spent", "Spend 500 gold", "Bet or spend 500 gold today.",
     "daily", "gold_spent", "", 500, 150, 20),
    ("daily-streak", "Claim your daily streak", "Claim today's streak reward.",
     "daily", "streak_days", "", 1, 100, 10),
    ("weekly-plays", "Play 100 rounds", "Play 100 rounds of any game this week.",
     "weekly", "plays", "", 100, 2000, 150),
    ("weekly-gold-won", "Win 5,000 gold", "Win 5,000 gold (net) this week.",
     "weekly", "gold_won", "", 5000, 1500, 120),
    ("weekly-streak", "Reach a 5-day streak", "Keep your daily streak for 5 days.",
     "weekly", "streak_days", "", 5, 1000, 100),
    ("weekly-purchase", "Visit the shop", "Make one purchase this week.",
     "weekly", "purchases", "", 1, 500, 50),
]  # fmt: skip


def create(apps, schema_editor):
    Mission = apps.get_model("events", "Mission")
    for order, row in enumerate(MISSIONS):
        code, title, description, period, requirement, game, target, gold, xp = row
        Mission.objects.get_or_create(
            code=code,
            defaults={
                "title": title,
                "description": description,
                "period": period,
                "requirement_type": requirement,
                "game": game,
                "target": target,
                "reward_gold": gold,
                "reward_xp": xp,
                "display_order": order,
            },
        )


def remove(apps, schema_editor):
    Mission = apps.get_model("events", "Mission")
    Mission.objects.filter(code__in=[row[0] for row in MISSIONS]).delete()


class Migration(migrations.Migration):
    dependencies = [("events", "0001_initial")]

    operations = [migrations.RunPython(create, remove)]
