"""Korean names and descriptions next to the English ones; the default achievements get theirs."""

from django.db import migrations, models

ACHIEVEMENTS = [
    # code, (English name, description), (Korean name, description)
    ("first_round", ("First round", "Play your first round."), ("첫 라운드", "첫 라운드를 플레이하세요.")),
    ("rounds_100", ("Regular", "Play 100 rounds."), ("단골", "100라운드를 플레이하세요.")),
    ("rounds_1000", ("Veteran", "Play 1,000 rounds."), ("베테랑", "1,000라운드를 플레이하세요.")),
    ("bet_100k", ("High roller", "Bet 100,000 gold in total."), ("하이 롤러", "총 100,000골드를 베팅하세요.")),
    ("win_50k", ("Big winner", "Win 50,000 gold in total."), ("빅 위너", "총 50,000골드를 획득하세요.")),
    ("win_streak_5", ("Hot hand", "Win 5 rounds in a row."), ("불타는 손", "5라운드 연속으로 이기세요.")),
    ("multiplier_10x", ("Ten times", "Win 10x your bet in one round."), ("열 배", "한 라운드에서 베팅액의 10배를 획득하세요.")),
    ("streak_7", ("Loyal week", "Claim the daily reward 7 days in a row."), ("충성스러운 일주일", "7일 연속으로 일일 보상을 받으세요.")),
    ("streak_30", ("Loyal month", "Claim the daily reward 30 days in a row."), ("충성스러운 한 달", "30일 연속으로 일일 보상을 받으세요.")),
    ("first_purchase", ("Supporter", "Make your first shop purchase."), ("후원자", "상점에서 첫 구매를 하세요.")),
]  # fmt: skip

def fill(model, rows, key, fields):
    """Write each row's Korean text where it is still blank and the English is still the seeded
    one (a row staff renamed keeps a blank translation rather than a wrong one)."""
    for code, english, korean in rows:
        instance = model.objects.filter(**{key: code}).first()
        if instance is None:
            continue
        changed = []
        for field, source_text, target_text in zip(fields, english, korean):
            if getattr(instance, f"{field}_ko") == "" and getattr(instance, field) == source_text:
                setattr(instance, f"{field}_ko", target_text)
                changed.append(f"{field}_ko")
        if changed:
            instance.save(update_fields=changed)


def translate(apps, schema_editor):
    fill(apps.get_model("gamification", "Achievement"), ACHIEVEMENTS, "code", ("name", "description"))

class Migration(migrations.Migration):

    dependencies = [
        ('gamification', '0002_default_streak_rewards_and_achievements'),
    ]

    operations = [
        migrations.AddField(
            model_name='achievement',
            name='description_ko',
            field=models.CharField(blank=True, max_length=300, verbose_name='description (Korean)'),
        ),
        migrations.AddField(
            model_name='achievement',
            name='name_ko',
            field=models.CharField(blank=True, max_length=100, verbose_name='name (Korean)'),
        ),
        migrations.AddField(
            model_name='season',
            name='name_ko',
            field=models.CharField(blank=True, max_length=100, verbose_name='name (Korean)'),
        ),
        migrations.RunPython(translate, migrations.RunPython.noop),
    ]
