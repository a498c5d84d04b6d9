"""What each item code is called, in English and Korean; the items the default gacha and shop grant
get their names (staff edit them in admin)."""

from django.db import migrations, models

ITEMS = [
    # code, English name, Korean name
    ("frame_bronze", "Bronze avatar frame", "브론즈 아바타 프레임"),
    ("frame_silver", "Silver avatar frame", "실버 아바타 프레임"),
    ("frame_gold", "Gold avatar frame", "골드 아바타 프레임"),
    ("emote_lucky_cat", "Lucky cat emote", "행운의 고양이 이모트"),
    ("card_back_royal", "Royal card back", "로열 카드 뒷면"),
    ("skin_golden_dragon", "Golden dragon skin", "황금 용 스킨"),
    ("skin_jade_tiger", "Jade tiger skin", "비취 호랑이 스킨"),
]


def create(apps, schema_editor):
    Item = apps.get_model("accounts", "Item")
    for code, name, name_ko in ITEMS:
        Item.objects.get_or_create(code=code, defaults={"name": name, "name_ko": name_ko})


def remove(apps, schema_editor):
    apps.get_model("accounts", "Item").objects.filter(code__in=[row[0] for row in ITEMS]).delete()

class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0013_player_notes'),
    ]

    operations = [
        migrations.CreateModel(
            name='Item',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', models.CharField(max_length=64, unique=True)),
                ('name', models.CharField(max_length=100)),
                ('name_ko', models.CharField(blank=True, max_length=100, verbose_name='name (Korean)')),
                ('description', models.CharField(blank=True, max_length=300)),
                ('description_ko', models.CharField(blank=True, max_length=300, verbose_name='description (Korean)')),
            ],
            options={
                'ordering': ['code'],
            },
        ),
        migrations.RunPython(create, remove),
    ]
