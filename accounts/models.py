from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import DEFAULT_DB_ALIAS, IntegrityError, models, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy

from .validators import login_skeleton


class Rank(models.TextChoices):
    STANDARD = "STANDARD", gettext_lazy("Standard")
    PREMIUM = "PREMIUM", gettext_lazy("Premium")
    VIP = "VIP", gettext_lazy("VIP")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(
        self,
        site_id: str,
        nickname: str,
        phone_number: str,
        password: str | None = None,
        **extra_fields: Any,
    ) -> User:
        user = self.model(
            site_id=site_id.lower(), nickname=nickname, phone_number=phone_number, **extra_fields
        )
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(
        self,
        site_id: str,
        nickname: str,
        phone_number: str,
        password: str | None = None,
        **extra: Any,
    ) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(site_id, nickname, phone_number, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A player or a staff member. ``site_id`` is the login name, stored lower-case."""

    site_id = models.CharField(max_length=32, unique=True)
    nickname = models.CharField(max_length=20)
    phone_number = models.CharField(max_length=16, unique=True)
    rank = models.CharField(max_length=8, choices=Rank.choices, default=Rank.STANDARD)
    vip_points = models.BigIntegerField(default=0)
    level = models.PositiveIntegerField(default=1)
    experience = models.BigIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    # A ban (``is_active`` False) ends by itself at this time; None: until a staff member lifts it.
    banned_until = models.DateTimeField(null=True, blank=True)
    is_staff = models.BooleanField(default=False)
    # Every level up to this one has had its level-up reward settled (paid, or skipped because
    # staff set the level): reaching a level again, or for the first time after a staff change,
    # pays nothing. See accounts/services/progression.py.
    level_rewards_paid_through = models.PositiveIntegerField(default=1)
    date_joined = models.DateTimeField(default=timezone.now)
    birth_date = models.DateField(null=True, blank=True, help_text="Age gate at signup.")
    # Optional; e-mail goes only to an address the player verified (password reset, opted-in
    # notifications). Unique, case-insensitively, among the addresses set.
    email = models.EmailField(max_length=254, blank=True, default="")
    email_verified_at = models.DateTimeField(null=True, blank=True)
    # The language of the player's e-mail ("" : the site's default), set from the pages' or the
    # API's language when the player gives an address.
    language = models.CharField(max_length=8, blank=True, default="")
    # Asked to delete the account: anonymised by a beat job once the grace period has passed
    # (docs/decisions/0229-account-deletion.md); logging in again within it cancels it.
    deletion_requested_at = models.DateTimeField(null=True, blank=True)
    anonymised_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Bumped to revoke every token issued before (logout-all, ban, refresh-token reuse).
    token_version = models.PositiveIntegerField(default=0)
    # Login sessions logged out while their access tokens may still be alive: {sid: unix time
    # after which the entry can go}. Read with the row that authenticates every request, so
    # refusing a logged-out session's access token costs no extra query (accounts/tokens.py).
    revoked_sessions = models.JSONField(default=dict, blank=True, editable=False)
    invite_code = models.ForeignKey(
        "InviteCode", null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "site_id"
    REQUIRED_FIELDS = ["nickname", "phone_number"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("nickname"), name="accounts_user_nickname_ci_unique"),
            models.UniqueConstraint(
                Lower("email"),
                condition=~models.Q(email=""),
                name="accounts_user_email_ci_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(vip_points__gte=0), name="user_vip_points_gte_0"
            ),
            models.CheckConstraint(
                condition=models.Q(experience__gte=0), name="user_experience_gte_0"
            ),
            models.CheckConstraint(condition=models.Q(level__gte=1), name="user_level_gte_1"),
        ]
        indexes = [models.Index(fields=["rank"], name="accounts_user_rank_idx")]
        # Staff roles (docs/decisions/0120-staff-roles.md) are groups of model permissions.
        permissions = [
            ("grant_gold", "Can grant and revoke gold (up to STAFF_GRANT_LIMIT without approval)"),
            ("approve_grant", "Can approve or reject gold grants above STAFF_GRANT_LIMIT"),
            ("ban_user", "Can ban and unban players"),
            ("change_progression", "Can set a player's level and experience"),
        ]

    def __str__(self) -> str:
        return f"{self.nickname} ({self.site_id})"

    # The login names registered in ``LoginName`` for this row: (site_id, nickname) as last
    # loaded or saved; None for a row not saved yet.
    _login_names_saved: tuple[str, str] | None = None

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any) -> User:
        user = super().from_db(db, field_names, values)
        if "site_id" in field_names and "nickname" in field_names:
            user._login_names_saved = (user.site_id, user.nickname)
        return user

    # Built by authentication from the cached state (accounts/auth_state.py) with only the key
    # and the rank loaded: the first read of any other field loads the rest of the row at once.
    _loaded_partially = False

    @classmethod
    def from_auth_state(cls, user_id: int, *, rank: str) -> User:
        """The user ``user_id`` without a query: every field but the key and ``rank`` deferred."""
        user = cls.from_db(DEFAULT_DB_ALIAS, ["id", "rank"], [user_id, rank])
        user._loaded_partially = True
        return user

    def refresh_from_db(
        self, using: str | None = None, fields: Any = None, from_queryset: Any = None
    ) -> None:
        """Django's reload; a partially loaded user (``from_auth_state``) loads every field still
        deferred along with the ones asked for, in one query instead of one per field read."""
        if self._loaded_partially:
            self._loaded_partially = False
            if fields is None:
                fields = [field.attname for field in self._meta.concrete_fields]
            else:
                fields = {*fields, *self.get_deferred_fields()}
            super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)
            if {"site_id", "nickname"} <= set(fields):
                self._login_names_saved = (self.site_id, self.nickname)
            return
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save, and register the site_id and nickname skeletons in ``LoginName`` in the same
        transaction whenever either changed: every path that writes a name (signup, profile,
        admin, import, ``createsuperuser``) goes through here, so the registry cannot drift.
        Raises ``IntegrityError`` naming ``site_id`` or ``nickname`` when another player holds a
        look-alike name (the caller's transaction then rolls back)."""
        update_fields = kwargs.get("update_fields")
        names = (self.site_id, self.nickname)
        touches_names = update_fields is None or {"site_id", "nickname"} & set(update_fields)
        if not touches_names or names == self._login_names_saved:
            super().save(*args, **kwargs)
            return
        is_new = self._state.adding
        with transaction.atomic():
            super().save(*args, **kwargs)
            self._login_names_register(is_new=is_new)
        self._login_names_saved = names

    def _login_names_register(self, *, is_new: bool) -> None:
        """Must run inside a transaction. Inserts in skeleton order, so two signups claiming each
        other's names cannot deadlock."""
        claims: dict[str, str] = {}  # skeleton → the field claiming it (site_id first)
        for field in ("site_id", "nickname"):
            claims.setdefault(login_skeleton(getattr(self, field)), field)
        owned: set[str] = set()
        if not is_new:
            LoginName.objects.filter(user=self).exclude(skeleton__in=claims).delete()
            owned = set(LoginName.objects.filter(user=self).values_list("skeleton", flat=True))
        missing = sorted(claims.keys() - owned)
        if not missing:
            return
        try:
            with transaction.atomic():
                LoginName.objects.bulk_create(
                    [LoginName(skeleton=skeleton, user=self) for skeleton in missing]
                )
        except IntegrityError as error:
            # The holder committed before PostgreSQL reported the clash, so it is visible now.
            held = set(
                LoginName.objects.filter(skeleton__in=missing).values_list("skeleton", flat=True)
            )
            field = next((claims[skeleton] for skeleton in missing if skeleton in held), "site_id")
            raise IntegrityError(f"login name taken: {field}") from error

    # Page sessions (docs/decisions/0060) end like tokens do: Django ends a session when the
    # password changes; with the token version in the hash, "log out everywhere", a ban and a
    # refresh-token reuse (each bumps ``token_version``) end every page session and its socket too.
    def _session_hash(self, secret: str | bytes | None = None) -> str:
        return salted_hmac(
            "casinoclub.accounts.User.session",
            f"{self.password}:{self.token_version}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def get_session_auth_hash(self) -> str:
        return self._session_hash()

    def get_session_auth_fallback_hash(self) -> Iterator[str]:
        for fallback_secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_hash(secret=fallback_secret)


class LoginName(models.Model):
    """A skeleton (``validators.login_skeleton``) of a site_id or nickname, and its owner.

    The primary key makes look-alike names unique across both fields and every player, race-free;
    a player's own site_id and nickname may share one. Written only by ``User.save``.
    """

    skeleton = models.CharField(max_length=400, primary_key=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="login_names")

    def __str__(self) -> str:
        return f"{self.skeleton} (user {self.user_id})"


class InviteCode(models.Model):
    """A staff-created signup code. The master code lives in settings, not here."""

    code = models.CharField(max_length=32, unique=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: unlimited.")
    uses = models.PositiveIntegerField(default=0, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires.")
    is_active = models.BooleanField(default=True)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_uses__isnull=True)
                | models.Q(uses__lte=models.F("max_uses")),
                name="invite_code_uses_within_max",
            )
        ]

    def __str__(self) -> str:
        return self.code


class LoginFailure(models.Model):
    """One failed login, kept for the lockout window and purged by a beat task."""

    lock_key = models.CharField(max_length=64)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["lock_key", "created_at"], name="login_failure_key_time_idx")
        ]

    def __str__(self) -> str:
        return f"{self.lock_key} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class LedgerReason(models.TextChoices):
    """Why gold moved. One enum for the whole product; reports group by it."""

    SIGNUP_BONUS = "signup_bonus", "Signup bonus"
    STAFF_GRANT = "staff_grant", "Staff grant"
    STAFF_REVOKE = "staff_revoke", "Staff revoke"
    GAME_BET = "game_bet", "Game bet"
    GAME_WIN = "game_win", "Game win"
    SHOP_PURCHASE = "shop_purchase", "Shop purchase (gold-priced item)"
    PURCHASE_CREDIT = "purchase_credit", "Gold pack purchase"
    REFUND_CLAWBACK = "refund_clawback", "Refund clawback"
    LEVEL_UP = "level_up", "Level-up reward"
    STREAK_REWARD = "streak_reward", "Daily streak reward"
    EVENT_REWARD = "event_reward", "Event reward"
    MISSION_REWARD = "mission_reward", "Mission reward"
    ACHIEVEMENT_REWARD = "achievement_reward", "Achievement reward"
    BATTLE_PASS_REWARD = "battle_pass_reward", "Battle pass reward"
    VIP_REWARD = "vip_reward", "VIP daily reward"
    CAMPAIGN_REWARD = "campaign_reward", "Campaign reward (inbox)"
    FREE_REFILL = "free_refill", "Free gold refill"


class Wallet(models.Model):
    """A player's gold. Changed only by ``accounts.services.wallet`` (see its invariants)."""

    user = models.OneToOneField(User, primary_key=True, on_delete=models.PROTECT)
    balance = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(balance__gte=0), name="wallet_balance_gte_0")
        ]

    def __str__(self) -> str:
        # Not the balance: a string shown next to a ledger row must not read as that row's balance.
        return f"wallet of user {self.user_id}"


class LedgerEntry(models.Model):
    """One immutable change of a wallet. A database trigger refuses UPDATE and DELETE."""

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="entries")
    delta = models.BigIntegerField()
    balance_after = models.BigIntegerField()
    reason = models.CharField(max_length=32, choices=LedgerReason.choices)
    reference = models.CharField(max_length=100, blank=True)
    idempotency_key = models.CharField(max_length=120)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "ledger entries"
        permissions = [("see_economy", "Can see the economy dashboard and live stats")]
        constraints = [
            models.UniqueConstraint(
                fields=["wallet", "idempotency_key"], name="ledger_entry_wallet_key_unique"
            ),
            models.CheckConstraint(condition=~models.Q(delta=0), name="ledger_entry_delta_not_0"),
            models.CheckConstraint(
                condition=models.Q(balance_after__gte=0), name="ledger_entry_balance_after_gte_0"
            ),
        ]
        indexes = [
            models.Index(fields=["wallet", "-id"], name="ledger_entry_wallet_id_idx"),
            # Covers the economy dashboard's per-day aggregates (index-only scans of a range).
            models.Index(
                fields=["created_at"],
                include=["reason", "delta", "wallet"],
                name="ledger_entry_created_cover",
            ),
        ]

    def __str__(self) -> str:
        """``user — delta — balance after — reason``, as support reads a row."""
        return (
            f"{self.wallet.user} — {self.delta:+,d} — {self.balance_after:,} — "
            f"{self.get_reason_display()}"
        )


class AuditLogEntry(models.Model):
    """One staff action: who, when, what, before/after, why. Append-only."""

    actor = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=64)
    target_user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "audit log entries"

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_id} at {self.created_at:%Y-%m-%d %H:%M}"


class GrantRequestStatus(models.TextChoices):
    PENDING = "pending", "Pending approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class GoldGrantRequest(models.Model):
    """A staff grant or revoke above ``STAFF_GRANT_LIMIT``: it moves no gold until a second staff
    member approves it (``gold_grant_request_approve``)."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField(help_text="Positive grants, negative revokes.")
    reason = models.CharField(max_length=500)
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    idempotency_key = models.CharField(max_length=120)
    status = models.CharField(
        max_length=16, choices=GrantRequestStatus.choices, default=GrantRequestStatus.PENDING
    )
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    ledger_entry = models.OneToOneField(
        LedgerEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "idempotency_key"], name="gold_grant_request_user_key_unique"
            ),
            models.CheckConstraint(
                condition=~models.Q(amount=0), name="gold_grant_request_amount_not_0"
            ),
            models.CheckConstraint(
                condition=~models.Q(decided_by=models.F("requested_by")),
                name="gold_grant_request_four_eyes",
            ),
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="gold_grant_request_idx")]

    def __str__(self) -> str:
        return f"grant request {self.pk}: {self.amount:+d} for user {self.user_id} ({self.status})"


class InventoryItem(models.Model):
    """Items a player owns (gacha prizes, shop items), counted per item code."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="inventory")
    item_code = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "item_code"], name="inventory_user_item_unique")
        ]

    def __str__(self) -> str:
        return f"{self.item_code} x{self.quantity} (user {self.user_id})"


class BlockKind(models.TextChoices):
    COOL_OFF = "cool_off", "Cool-off"
    SELF_EXCLUSION = "self_exclusion", "Self-exclusion"


class ResponsiblePlay(models.Model):
    """A player's own limits and blocks. Blocks can be extended by the player, never shortened."""

    user = models.OneToOneField(User, primary_key=True, on_delete=models.CASCADE)
    daily_purchase_limit_cents = models.PositiveIntegerField(null=True, blank=True)
    pending_purchase_limit_cents = models.PositiveIntegerField(null=True, blank=True)
    pending_limit_effective_at = models.DateTimeField(null=True, blank=True)
    blocked_until = models.DateTimeField(null=True, blank=True)
    block_kind = models.CharField(max_length=16, choices=BlockKind.choices, blank=True)
    session_started_at = models.DateTimeField(null=True, blank=True)
    last_round_at = models.DateTimeField(null=True, blank=True)
    last_reality_check_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "cool-off or self-exclusion"
        verbose_name_plural = "cool-offs and self-exclusions"
        permissions = [
            ("extend_block", "Can extend a player's cool-off or self-exclusion (never shorten)"),
        ]

    def __str__(self) -> str:
        return f"responsible play of user {self.user_id}"


class PlayerNote(models.Model):
    """A staff member's note on a player. Append-only: written by ``player_note_add`` (audited),
    never edited or deleted."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    author = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField(max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="player_note_user_idx")]

    def __str__(self) -> str:
        return f"note {self.pk} on user {self.user_id}"


class Item(models.Model):
    """What an item code (``InventoryItem.item_code``, gacha rewards, shop items) is called, in
    each language. Staff edit it in admin; a code without a row shows as the code itself."""

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=100)
    name_ko = models.CharField("name (Korean)", max_length=100, blank=True)
    description = models.CharField(max_length=300, blank=True)
    description_ko = models.CharField("description (Korean)", max_length=300, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class EquippedItem(models.Model):
    """The item a player shows in one slot (kind): at most one per kind.

    Shown only while the player still owns the item (a refunded item stops showing).
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="equipped_items")
    kind = models.CharField(max_length=16)
    item_code = models.CharField(max_length=64)
    equipped_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="equipped_item_one_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.item_code} (user {self.user_id})"


class RefillClaim(models.Model):
    """One free-gold refill paid to a player whose balance was under the threshold
    (accounts/services/refill.py). Append-only; the latest says when the next one is possible."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField()
    balance_before = models.BigIntegerField()
    ledger_entry_id = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="refillclaim_user_created")]

    def __str__(self) -> str:
        return f"refill {self.amount} to {self.user_id} at {self.created_at:%Y-%m-%d %H:%M}"
