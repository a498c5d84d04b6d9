"""Korean titles and descriptions next to the English ones; the default missions get theirs."""

from django.db import migrations, models

MISSIONS = [
    # code, (English title, description), (Korean title, description)
    ("daily-slot-spins", ("Spin the slot 10 times", "Play 10 slot rounds today."),
     ("슬롯 10번 돌리기", "오늘 슬롯을 10라운드 플레이하세요.")),
    ("daily-wins", ("Win 3 rounds", "Win 3 rounds of any game today."),
     ("3라운드 이기기", "오늘 아무 게임에서나 3라운드를 이기세요.")),
    ("daily-gold-spent", ("Spend 500 gold", "Bet or spend 500 gold today."),
     ("500골드 쓰기", "오늘 500골드를 베팅하거나 사용하세요.")),
    ("daily-streak", ("Claim your daily streak", "Claim today's streak reward."),
     ("출석 보상 받기", "오늘의 연속 출석 보상을 받으세요.")),
    ("weekly-plays", ("Play 100 rounds", "Play 100 rounds of any game this week."),
     ("100라운드 플레이하기", "이번 주에 아무 게임이나 100라운드를 플레이하세요.")),
    ("weekly-gold-won", ("Win 5,000 gold", "Win 5,000 gold (net) this week."),
     ("5,000골드 획득하기", "이번 주에 5,000골드(순이익)를 획득하세요.")),
    ("weekly-streak", ("Reach a 5-day streak", "Keep your daily streak for 5 days."),
     ("5일 연속 출석하기", "5일 동안 연속 출석을 이어가세요.")),
    ("weekly-purchase", ("Visit the shop", "Make one purchase this week."),
     ("상점 방문하기", "이번 주에 한 번 구매하세요.")),
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
    fill(apps.get_model("events", "Mission"), MISSIONS, "code", ("title", "description"))

class Migration(migrations.Migration):

    dependencies = [
        ('events', '0002_default_missions'),
    ]

    operations = [
        migrations.AddField(
            model_name='event',
            name='description_ko',
            field=models.TextField(blank=True, verbose_name='description (Korean)'),
        ),
        migrations.AddField(
            model_name='event',
            name='title_ko',
            field=models.CharField(blank=True, max_length=100, verbose_name='title (Korean)'),
        ),
        migrations.AddField(
            model_name='mission',
            name='description_ko',
            field=models.TextField(blank=True, verbose_name='description (Korean)'),
        ),
        migrations.AddField(
            model_name='mission',
            name='title_ko',
            field=models.CharField(blank=True, max_length=100, verbose_name='title (Korean)'),
        ),
        migrations.RunPython(translate, migrations.RunPython.noop),
    ]
