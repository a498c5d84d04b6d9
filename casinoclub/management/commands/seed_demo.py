"""Seed the demo: staff ``admin``, players ``user001``–``user004``, and something to do on a first
visit — a running event, a battle-pass season with its premium package, and rival players who have
played (so the leaderboard has more than one player, showing their equipped frames). Idempotent.

Refused under the production settings: it creates a superuser with a published password and
grants gold. The players' starting gold is a staff grant by ``admin`` through the audited staff
grant service (one ``gold_grant`` audit row per player, with a reason), like any other grant. It
lives in the project layer because it seeds every app.
"""

import os
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import GoldGrantRequest, LedgerEntry, User
from accounts.services import inventory_add, item_equip, staff_gold_adjust, wallet_open
from casinoclub.projections import projections_run
from events.models import Event
from games.selectors import round_list
from games.services import slot_spin
from gamification.models import Season, Tier
from shop.models import LimitedPackage

DEMO_GOLD = 100_000
DEMO_BIRTH_DATE = date(1990, 1, 1)  # the demo accounts pass the age gate
GRANT_REASON = "Demo starting gold (seed_demo)"
# Databases seeded before the grants were audited hold the gold under this ledger key.
LEGACY_SEED_KEY = "seed_demo"

DEMO_PLAYERS = [
    ("user001", "Player001", "01000000001"),
    ("user002", "Player002", "01000000002"),
    ("user003", "Player003", "01000000003"),
    ("user004", "Player004", "01000000004"),
]

# Rivals who have already played: the leaderboard a new player sees is not empty. Each shows a
# frame it owns (site_id, nickname, phone, frame, spins).
DEMO_RIVALS = [
    ("rival001", "LuckySeven", "01000000011", "frame_gold", 8),
    ("rival002", "HighRoller", "01000000012", "frame_silver", 6),
    ("rival003", "JadeTiger", "01000000013", "frame_bronze", 4),
]
RIVAL_BET = 100

WELCOME_EVENT_TITLE = "Welcome week: play 10 rounds"
SEASON_DAYS = 28
SEASON_TIERS = 10
PREMIUM_PRICE_KRW = 9_900


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--password",
            default=os.environ.get("DEMO_PASSWORD", "casino1234"),
            help="Password of every demo account (default: $DEMO_PASSWORD or casino1234).",
        )

    def handle(self, *args: Any, password: str, **options: Any) -> None:
        if settings.ENVIRONMENT == "production":
            raise CommandError(
                "seed_demo does not run in production: it creates a staff account with a "
                "published password and grants gold."
            )
        with transaction.atomic():
            admin = User.objects.filter(site_id="admin").first()
            if admin is None:
                admin = User.objects.create_superuser(
                    "admin", "Admin", "01000000000", password, birth_date=DEMO_BIRTH_DATE
                )
                self.stdout.write("created staff account admin")
            self.admin = admin
            for site_id, nickname, phone in DEMO_PLAYERS:
                self._player(site_id, nickname, phone, password)
        now = timezone.now()
        with transaction.atomic():
            self._event(now)
            self._season(now)
        self._rivals(password)
        projections_run()  # the leaderboard, stats and missions of the rivals' rounds
        self.stdout.write(self.style.SUCCESS("demo data ready"))

    def _player(self, site_id: str, nickname: str, phone: str, password: str) -> User:
        user = User.objects.filter(site_id=site_id).first()
        if user is None:
            user = User.objects.create_user(
                site_id, nickname, phone, password, birth_date=DEMO_BIRTH_DATE
            )
            self.stdout.write(f"created player {site_id}")
        elif user.birth_date is None:  # seeded before birth dates were required
            user.birth_date = DEMO_BIRTH_DATE
            user.save(update_fields=["birth_date"])
        wallet_open(user)
        self._grant_starting_gold(user)
        return user

    def _grant_starting_gold(self, user: User) -> None:
        if LedgerEntry.objects.filter(wallet_id=user.pk, idempotency_key=LEGACY_SEED_KEY).exists():
            return  # granted before (the staff grant keys its entry on the same key)
        result = staff_gold_adjust(
            actor=self.admin,
            user_id=user.pk,
            amount=DEMO_GOLD,
            reason=GRANT_REASON,
            idempotency_key="seed_demo",
        )
        if isinstance(result, GoldGrantRequest):  # STAFF_GRANT_LIMIT set below DEMO_GOLD
            self.stdout.write(
                f"the starting gold of {user.site_id} waits for a second staff member's "
                "approval (STAFF_GRANT_LIMIT)"
            )

    def _event(self, now: datetime) -> None:
        """A public event running now (a new one once the previous demo event has ended)."""
        running = Event.objects.filter(
            title=WELCOME_EVENT_TITLE, starts_at__lte=now, ends_at__gt=now, is_active=True
        )
        if running.exists():
            return
        Event.objects.create(
            title=WELCOME_EVENT_TITLE,
            title_ko="웰컴 위크: 10판 플레이",
            description="Play any 10 rounds this week and claim 1,000 gold.",
            description_ko="이번 주에 아무 게임이나 10판 플레이하고 골드 1,000을 받으세요.",
            requirement_type="plays",
            target=10,
            reward_gold=1_000,
            reward_xp=100,
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=7),
        )
        self.stdout.write("created a running event")

    def _season(self, now: datetime) -> None:
        """A current battle-pass season with tiers, and its premium pass for sale (real money)."""
        if Season.objects.filter(starts_at__lte=now, ends_at__gt=now).exists():
            return
        season = Season.objects.create(
            code=f"demo-{now:%Y%m%d}",
            name=f"Season {now:%B %Y}",
            name_ko=f"{now:%Y년 %m월} 시즌",
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=SEASON_DAYS),
        )
        Tier.objects.bulk_create(
            Tier(
                season=season,
                number=number,
                xp_required=(number - 1) * 100,
                free_reward_gold=50 * number,
                premium_reward_gold=150 * number,
                premium_reward_item="frame_gold" if number == SEASON_TIERS else "",
            )
            for number in range(1, SEASON_TIERS + 1)
        )
        LimitedPackage.objects.create(
            code=f"{season.code}-premium",
            name=f"Battle pass premium: {season.name}",
            name_ko=f"배틀 패스 프리미엄: {now:%Y년 %m월} 시즌",
            starts_at=season.starts_at,
            ends_at=season.ends_at,
            total_stock=1_000_000,
            remaining_stock=1_000_000,
            per_user_limit=1,
            price_cents=PREMIUM_PRICE_KRW,
            currency="KRW",
            gold_amount=1_000,
            items=[{"item_code": season.premium_item_code, "quantity": 1}],
        )
        self.stdout.write(f"created battle-pass season {season.code} and its premium package")

    def _rivals(self, password: str) -> None:
        """Rivals who played real rounds (through the games service) and show a frame."""
        for site_id, nickname, phone, frame, spins in DEMO_RIVALS:
            with transaction.atomic():
                rival = self._player(site_id, nickname, phone, password)
            if round_list(rival.pk).exists():
                continue
            for _ in range(spins):
                slot_spin(rival, RIVAL_BET)
            with transaction.atomic():
                inventory_add(rival.pk, frame)
            item_equip(rival.pk, frame)
            self.stdout.write(f"{site_id} played {spins} spins")
