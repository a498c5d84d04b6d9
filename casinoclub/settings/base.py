"""Settings shared by every environment. Values that differ come from ``env``."""

from datetime import timedelta

import django_stubs_ext
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from redis.asyncio.retry import Retry as AsyncRedisRetry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from casinoclub.networks import parse_networks

from .env import BASE_DIR, env, read_secrets

django_stubs_ext.monkeypatch()  # lets admin and querysets be subscripted in annotations

# Four distinct secrets, all required: start-up names every missing one (settings/env.py).
_secrets = read_secrets()
SECRET_KEY = _secrets["DJANGO_SECRET_KEY"]
# "production" refuses demo data and unsafe settings; local and test say so themselves.
ENVIRONMENT = "development"
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
CSRF_FAILURE_VIEW = "casinoclub.errors.csrf_failure"  # the JSON envelope under /api/

INSTALLED_APPS = [
    "daphne",
    "casinoclub.apps.StaffAdminConfig",  # django.contrib.admin with the staff sign-in site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_prometheus",
    "casinoclub",
    "casinoclub.realtime",
    "casinoclub.ops",
    "casinoclub.telemetry",
    "casinoclub.pages",
    "accounts",
    "games",
    "shop",
    "events",
    "gamification",
    "liveops",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "casinoclub.urls"
ASGI_APPLICATION = "casinoclub.asgi.application"
WSGI_APPLICATION = "casinoclub.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "liveops.context_processors.inbox",
            ],
        },
    },
]

DATABASES = {"default": env.db_url("DATABASE_URL")}
DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

REDIS_URL = env.str("REDIS_URL")

# Redis, degrading to per-process memory while Redis is unreachable (docs/decisions/0080).
CACHES = {
    "default": {
        "BACKEND": "casinoclub.cache.ResilientRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "casinoclub",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
    }
}

# Authentication state (token version, ban, logged-out sessions, rank) cached in Redis, read with
# a short timeout; the database answers on a miss or while Redis is unreachable
# (docs/decisions/0150-auth-state-cache.md).
AUTH_STATE_CACHE_SECONDS = env.int("AUTH_STATE_CACHE_SECONDS", default=60)
AUTH_STATE_REDIS_TIMEOUT = 0.25

# Redis pub/sub as the bus between processes (docs/decisions/0009-channel-layer.md). Delivery does
# not depend on it: messages are stored first and replayed with ?since=. Short socket timeouts so a
# dead Redis costs a post-commit hook a second, not a hung request. One immediate retry on a
# connection error reconnects a subscription whose connection died with a restarted Redis
# (docs/decisions/0080-cache-without-redis.md).
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            "hosts": [
                {
                    "address": REDIS_URL,
                    "socket_connect_timeout": 1,
                    "socket_timeout": 5,
                    "retry": AsyncRedisRetry(NoBackoff(), 1),
                    "retry_on_error": [RedisConnectionError],
                }
            ],
        },
    }
}
REALTIME_RETENTION_DAYS = env.int("REALTIME_RETENTION_DAYS", default=7)

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ["site_id", "nickname", "phone_number"]},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ko", "한국어")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("CASINO_TIME_ZONE", default="Asia/Seoul")
USE_I18N = True
USE_TZ = True

# Player pages (casinoclub/pages): Django's session login
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Request bodies: the largest legitimate one is a 32 KB telemetry batch.
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
# Request JSON nested deeper than this is 400 invalid_json (casinoclub/jsonparse.py).
JSON_MAX_DEPTH = env.int("JSON_MAX_DEPTH", default=32)

REST_FRAMEWORK = {
    # JWT first (API clients, 401 + WWW-Authenticate unchanged); then the player pages' session,
    # with DRF's CSRF check on unsafe methods (docs/decisions/0060-session-auth-for-pages.md).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.PlayerJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["casinoclub.jsonparse.DepthLimitedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "casinoclub.openapi.ErrorEnvelopeAutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "login": env.str("THROTTLE_LOGIN", default="30/min"),
        "signup": env.str("THROTTLE_SIGNUP", default="10/min"),
        "invite": env.str("THROTTLE_INVITE", default="30/min"),
        "refresh": env.str("THROTTLE_REFRESH", default="60/min"),
        "purchase": env.str("THROTTLE_PURCHASE", default="30/min"),
        "webhook": env.str("THROTTLE_WEBHOOK", default="600/min"),
        "telemetry": env.str("THROTTLE_TELEMETRY", default="60/min"),
        "public_metrics": env.str("THROTTLE_PUBLIC_METRICS", default="120/min"),
        "public_events": env.str("THROTTLE_PUBLIC_EVENTS", default="60/min"),
        "public_odds": env.str("THROTTLE_PUBLIC_ODDS", default="120/min"),
        # seed rotations per player: each one stores a seed pair for good
        "fairness_rotate": env.str("THROTTLE_FAIRNESS_ROTATE", default="10/min"),
        "password": env.str("THROTTLE_PASSWORD", default="5/min"),  # per player
    },
    "EXCEPTION_HANDLER": "casinoclub.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
# Reverse proxies in front of the app (docker compose: 1, nginx). With N, rate limits take the
# client's address from X-Forwarded-For (the Nth entry from the right); with 0 they ignore it.
REST_FRAMEWORK["NUM_PROXIES"] = env.int("DJANGO_NUM_PROXIES", default=0)

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=14)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "SIGNING_KEY": _secrets["JWT_SIGNING_KEY"],
    "ALGORITHM": "HS256",
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Casino Club API",
    "DESCRIPTION": "Free-to-play social casino. Gold is virtual and never cashed out.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/",
    # Swagger UI assets are served from static files, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "EventStatusEnum": "events.models.EventStatus",
        "BlockKindEnum": "accounts.models.BlockKind",
        "ItemKindEnum": "accounts.items.ITEM_KIND_CHOICES",
        "ProductKindEnum": "shop.models.ProductKind",
    },
    # OpenAPI links between operations (casinoclub.openapi.OPERATION_LINKS), after the default.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "casinoclub.openapi.add_operation_links",
    ],
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A task a killed worker was running is delivered again after the visibility timeout; it must
# exceed the longest task countdown. Settlement does not wait for it: beat's
# sweepers pick up what a lost task left (docs/decisions/0083-worker-loss.md).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT_SECONDS", default=3600),
    "socket_connect_timeout": 1,
}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    # Hourly on the hour in TIME_ZONE: the midnight run closes the ended daily (and on Mondays
    # weekly) mission periods; later runs catch up if beat was down (docs/decisions/0031).
    "close-mission-periods": {
        "task": "events.tasks.mission_periods_close_task",
        "schedule": crontab(minute=0),
    },
    "purge-idempotency-records": {
        "task": "casinoclub.tasks.idempotency_records_purge_task",
        "schedule": timedelta(hours=1),
    },
    "purge-login-failures": {
        "task": "accounts.tasks.login_failures_purge_task",
        "schedule": timedelta(hours=1),
    },
    "lift-ended-bans": {
        "task": "accounts.tasks.user_bans_lift_ended_task",
        "schedule": timedelta(minutes=1),
    },
    "settle-pending-purchases": {
        "task": "shop.tasks.purchases_settle_pending_task",
        "schedule": timedelta(seconds=60),
    },
    "prune-realtime-messages": {
        "task": "casinoclub.realtime.tasks.realtime_messages_prune_task",
        "schedule": timedelta(hours=1),
    },
    "purge-telemetry-events": {
        "task": "casinoclub.telemetry.tasks.telemetry_events_purge_task",
        "schedule": timedelta(hours=1),
    },
    "check-ledger": {
        "task": "accounts.tasks.ledger_check_task",
        "schedule": timedelta(minutes=env.int("LEDGER_CHECK_MINUTES", default=10)),
    },
    "sample-celery-queue-length": {
        "task": "casinoclub.ops.tasks.celery_queue_length_sample_task",
        "schedule": timedelta(seconds=30),
    },
}
CELERY_MONITORED_QUEUE = "celery"  # Celery's default queue: a Redis list of that name

# Admin CSV import: larger files go through manage.py import_users (streamed from disk).
USER_IMPORT_MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# The admin preview hashes every valid row's password (~0.4 s a row in production), so it takes at
# most this many rows to import (docs/decisions/0135-abuse-hardening.md).
USER_IMPORT_ADMIN_MAX_ROWS = env.int("USER_IMPORT_ADMIN_MAX_ROWS", default=50)

# Operations: presence, public live metrics, telemetry (docs/decisions/0042, 0043)
PRESENCE_TTL_SECONDS = env.int("PRESENCE_TTL_SECONDS", default=120)
PUBLIC_METRICS_CACHE_SECONDS = 5
BIG_WIN_MULTIPLIER_X100 = env.int("BIG_WIN_MULTIPLIER_X100", default=1000)  # 10x the bet
METRICS_STREAM_MIN_INTERVAL = 2
METRICS_STREAM_MAX_INTERVAL = 30
METRICS_STREAM_DEFAULT_INTERVAL = 5
METRICS_STREAM_MAX_SECONDS = env.int("METRICS_STREAM_MAX_SECONDS", default=600)
METRICS_STREAM_OPENS_PER_MINUTE = env.int("METRICS_STREAM_OPENS_PER_MINUTE", default=10)
TELEMETRY_MAX_BODY_BYTES = 32 * 1024
TELEMETRY_PROPS_MAX_BYTES = 2048
# Request-body bytes one player may send per UTC day (docs/decisions/0137-telemetry-quota.md).
TELEMETRY_DAILY_BYTES_PER_USER = env.int("TELEMETRY_DAILY_BYTES_PER_USER", default=2 * 1024 * 1024)
TELEMETRY_RETENTION_DAYS = env.int("TELEMETRY_RETENTION_DAYS", default=30)
# Noisy event names and the share of them kept (decided per user, name, receive time, position).
TELEMETRY_SAMPLE_RATES: dict[str, float] = {
    "ui.scroll": 0.01,
    "ui.hover": 0.01,
    "ui.render": 0.05,
    "net.latency": 0.1,
}
# Names counted under their own label in telemetry_events_total; any other name is "other".
TELEMETRY_METRIC_NAMES = frozenset(
    {
        "app.open",
        "app.background",
        "page.view",
        "game.open",
        "game.spin_click",
        "shop.open",
        "shop.checkout_start",
        "socket.reconnect",
        "error.client",
        *TELEMETRY_SAMPLE_RATES,
    }
)

# Events and missions (docs/decisions/0030-0033)
PUBLIC_EVENTS_CACHE_SECONDS = 10
MISSION_PROGRESS_RETENTION_DAYS = env.int("MISSION_PROGRESS_RETENTION_DAYS", default=56)

# Product rules
# A signup code that never runs out; none unless set (local and test set a development one).
MASTER_INVITE_CODE: str | None = env.str("MASTER_INVITE_CODE", default="").strip() or None
SIGNUP_BONUS_GOLD = env.int("SIGNUP_BONUS_GOLD", default=1000)
LEVEL_UP_GOLD_PER_LEVEL = env.int("LEVEL_UP_GOLD_PER_LEVEL", default=100)
# The shared crash round (docs/decisions/0245-0249): run by ``manage.py run_crash_loop``
CRASH_BETTING_SECONDS = env.float("CRASH_BETTING_SECONDS", default=6.0)
CRASH_PAUSE_SECONDS = env.float("CRASH_PAUSE_SECONDS", default=3.0)  # busted → next betting
# The most one round may pay: sum of bet x (auto cash-out or the maximum multiplier) over its bets
CRASH_ROUND_EXPOSURE_CAP = env.int("CRASH_ROUND_EXPOSURE_CAP", default=500_000_000)
CRASH_STANDBY_POLL_SECONDS = env.float("CRASH_STANDBY_POLL_SECONDS", default=1.0)
# Responsible play
PLAYER_MINIMUM_AGE = env.int("PLAYER_MINIMUM_AGE", default=18)
PURCHASE_LIMIT_RAISE_DELAY_HOURS = env.int("PURCHASE_LIMIT_RAISE_DELAY_HOURS", default=24)
REALITY_CHECK_MINUTES = env.int("REALITY_CHECK_MINUTES", default=60)
PLAY_SESSION_GAP_MINUTES = env.int("PLAY_SESSION_GAP_MINUTES", default=30)
# Progression (docs/decisions/0021-streak-grace-and-cap.md, 0022-rank-earning.md)
STREAK_GRACE_DAYS = min(1, max(0, env.int("STREAK_GRACE_DAYS", default=0)))  # 0 or 1
VIP_PREMIUM_POINTS = env.int("VIP_PREMIUM_POINTS", default=500)
VIP_VIP_POINTS = env.int("VIP_VIP_POINTS", default=3000)
# Shop and payments
PAYMENT_GATEWAY = env.str("PAYMENT_GATEWAY", default="shop.gateway.SimulatedGateway")
PAYMENT_SIMULATOR = {
    "charge": env.str("PAYMENT_SIMULATOR_CHARGE", default="succeed"),
    "pending_outcome": env.str("PAYMENT_SIMULATOR_PENDING_OUTCOME", default="succeed"),
}
PAYMENT_WEBHOOK_SECRET = _secrets["PAYMENT_WEBHOOK_SECRET"]
PAYMENT_WEBHOOK_TOLERANCE_SECONDS = 300
RECEIPT_SIGNING_KEY = _secrets["RECEIPT_SIGNING_KEY"]
SHOP_HOLD_SECONDS = env.int("SHOP_HOLD_SECONDS", default=300)
SHOP_PENDING_MAX_AGE_SECONDS = env.int("SHOP_PENDING_MAX_AGE_SECONDS", default=24 * 60 * 60)
# Stripe (shop.stripe_gateway.StripeGateway; README "Payments"). The keys have no default: empty
# means the adapter answers 503 and its webhook refuses every signature.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
# A hosted checkout page's lifetime, from the purchase's creation (Stripe: 30 min to 24 h after the
# page is created, so at least 35 leaves the request a margin).
PAYMENT_CHECKOUT_EXPIRY_MINUTES = min(
    24 * 60 - 5, max(35, env.int("PAYMENT_CHECKOUT_EXPIRY_MINUTES", default=35))
)
# Where a hosted checkout sends the player back; "{receipt}" is replaced by the purchase's receipt.
PAYMENT_SUCCESS_URL = env.str(
    "PAYMENT_SUCCESS_URL", default="http://localhost:8000/shop/?checkout=success&receipt={receipt}"
)
PAYMENT_CANCEL_URL = env.str(
    "PAYMENT_CANCEL_URL", default="http://localhost:8000/shop/?checkout=cancel&receipt={receipt}"
)
PENDING_PURCHASE_ALERT_THRESHOLD = env.int("PENDING_PURCHASE_ALERT_THRESHOLD", default=50)
IDEMPOTENCY_RETENTION_HOURS = max(24, env.int("IDEMPOTENCY_RETENTION_HOURS", default=48))
LOGIN_LOCK_MAX_FAILURES = env.int("LOGIN_LOCK_MAX_FAILURES", default=5)
LOGIN_LOCK_WINDOW = timedelta(minutes=env.int("LOGIN_LOCK_WINDOW_MINUTES", default=10))
# Staff sign-in (docs/decisions/0125-staff-sign-in.md): with STAFF_REQUIRE_2FA (always on in
# production) the admin and the /api/admin/ routes need a sign-in with an authenticator code or a
# recovery code; enrol with ``manage.py staff_totp_enrol``.
STAFF_REQUIRE_2FA = env.bool("STAFF_REQUIRE_2FA", default=False)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Casino Club")
# LOGIN_LOCK_MAX_FAILURES counts per account and client address; this ceiling counts the account's
# failures from every address (docs/decisions/0138-login-lockout-per-address.md).
LOGIN_LOCK_ACCOUNT_MAX_FAILURES = env.int("LOGIN_LOCK_ACCOUNT_MAX_FAILURES", default=50)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
# Routine beat dispatches (and the worker's receipt and success of them) log at DEBUG
# (casinoclub/log_filters.py, docs/decisions/0170).
LOGGING["filters"] = {"routine_tasks": {"()": "casinoclub.log_filters.RoutineTaskFilter"}}
LOGGING["loggers"] = {
    name: {"filters": ["routine_tasks"]}
    for name in ("celery.beat", "celery.worker.strategy", "celery.app.trace")
}

# The currencies staff may price products and limited packages in (ISO 4217 codes); amounts are
# stored in each currency's minor unit (casinoclub/money.py, docs/decisions/0172).
SHOP_CURRENCIES = env.list("SHOP_CURRENCIES", default=["KRW", "USD", "JPY", "EUR"])
# Staff roles (docs/decisions/0120-staff-roles.md): the largest gold grant or revoke one staff
# member makes alone; above it the grant waits for a second staff member's approval.
STAFF_GRANT_LIMIT = env.int("STAFF_GRANT_LIMIT", default=100_000)
# What one staff member moves alone in 24 hours (grants plus revokes); beyond it, approval too.
STAFF_GRANT_DAILY_LIMIT = env.int("STAFF_GRANT_DAILY_LIMIT", default=1_000_000)
# ---------------------------------------------------------------- security headers and networks
# docs/decisions/0117-security-headers.md. Every page runs with no inline script or style: scripts
# and styles are static files, data rides in json_script blocks and data-* attributes.
INSTALLED_APPS.append("csp")
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "csp.middleware.CSPMiddleware",
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("csp.middleware.CSPMiddleware") + 1,
    "casinoclub.admin_networks.AdminNetworkMiddleware",
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],  # the API and the same-origin socket
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Features no page uses, switched off for every page and anything it could embed.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "usb=()"
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("csp.middleware.CSPMiddleware") + 1,
    "casinoclub.security_headers.PermissionsPolicyMiddleware",
)
# /admin/ only from these networks (CIDR, comma-separated; empty: anywhere). The client address is
# the trusted one behind DJANGO_NUM_PROXIES proxies (casinoclub/client_address.py).
ADMIN_ALLOWED_NETWORKS = env.list("ADMIN_ALLOWED_NETWORKS", default=[])
try:
    parse_networks(ADMIN_ALLOWED_NETWORKS)
except ValueError as _error:
    raise ImproperlyConfigured(f"ADMIN_ALLOWED_NETWORKS: {_error}") from None
# Concurrent /api/metrics/stream streams per client address (Redis slots that expire by
# themselves, so a crashed process frees its slots).
METRICS_STREAM_MAX_PER_CLIENT = env.int("METRICS_STREAM_MAX_PER_CLIENT", default=3)
# Retention purges (docs/decisions/0118-retention-purges.md)
WEBHOOK_EVENT_RETENTION_DAYS = max(7, env.int("WEBHOOK_EVENT_RETENTION_DAYS", default=90))
LEADERBOARD_DAILY_RETENTION_DAYS = max(8, env.int("LEADERBOARD_DAILY_RETENTION_DAYS", default=35))
CELERY_BEAT_SCHEDULE.update(
    {
        "purge-expired-refresh-tokens": {
            "task": "accounts.tasks.refresh_tokens_purge_expired_task",
            "schedule": timedelta(hours=1),
        },
        "purge-expired-sessions": {
            "task": "accounts.tasks.sessions_purge_expired_task",
            "schedule": timedelta(hours=1),
        },
        "purge-webhook-events": {
            "task": "shop.tasks.webhook_events_purge_task",
            "schedule": crontab(minute=20, hour=4),  # daily, in TIME_ZONE's quiet hours
        },
        "purge-daily-leaderboards": {
            "task": "games.tasks.leaderboard_daily_purge_task",
            "schedule": crontab(minute=40, hour=4),
        },
    }
)

# Event log and projections (docs/decisions/0140-event-log-and-projections.md): players split into
# this many partitions (user id mod N); run one projection worker per partition for scale-out.
PROJECTION_PARTITIONS = env.int("PROJECTION_PARTITIONS", default=1)
# a commit asks its partition to run only when no asked-for run is waiting; the flag saying one is
# waiting lives this long (a lost task delays the next ask at most this long; beat's backstop runs).
PROJECTION_KICK_SECONDS = env.int("PROJECTION_KICK_SECONDS", default=2)
# an asked-for run starts this much later, so one batch gathers the commits of the interval: a
# batch of many rounds costs far less per round than many batches of one (bench: projection lag).
PROJECTION_KICK_DELAY_SECONDS = env.float("PROJECTION_KICK_DELAY_SECONDS", default=0.2)
# a partition's after-commit run goes to its own queue, projections.<n> (README: projections)
CELERY_TASK_ROUTES = ("casinoclub.projections.projection_task_route",)
CELERY_BEAT_SCHEDULE.update(
    {
        "run-projections": {  # backstop for a lost after-commit send (broker down, worker killed)
            "task": "casinoclub.tasks.projections_run_task",
            "schedule": timedelta(seconds=5),
        },
    }
)

# Game configuration as a reviewed change (docs/decisions/0181-game-config-review.md): a draft whose
# exact RTP is outside this band (percent, inclusive) needs a second staff member's approval.
GAME_CONFIG_RTP_BAND = (
    env.float("GAME_CONFIG_RTP_MIN_PERCENT", default=85.0),
    env.float("GAME_CONFIG_RTP_MAX_PERCENT", default=99.0),
)

# Live operations: player metrics, segments, campaigns and the inbox (docs/decisions/0215-0218).
LIVEOPS_METRICS_MINUTES = env.int("LIVEOPS_METRICS_MINUTES", default=5)
LIVEOPS_DISPATCH_SECONDS = env.int("LIVEOPS_DISPATCH_SECONDS", default=60)
LIVEOPS_DISPATCH_BATCH = env.int("LIVEOPS_DISPATCH_BATCH", default=1000)
# RFM buckets 2..5 start at these values (bucket 1 below the first; 0 for players who never paid):
# recency in days since the last purchase (at most), frequency in purchases, monetary in cents.
LIVEOPS_RFM_RECENCY_DAYS = (180, 90, 30, 7)
LIVEOPS_RFM_FREQUENCY = (2, 5, 10, 20)
LIVEOPS_RFM_MONETARY_CENTS = (3_000, 10_000, 30_000, 100_000)
# risk signals: money spent in the last hour at or over this; a stake at least LIVEOPS_CHASE_FACTOR
# times a lost stake of at least LIVEOPS_BIG_LOSS_GOLD within LIVEOPS_CHASE_MINUTES after it.
LIVEOPS_RAPID_SPEND_CENTS = env.int("LIVEOPS_RAPID_SPEND_CENTS", default=20_000)
LIVEOPS_BIG_LOSS_GOLD = env.int("LIVEOPS_BIG_LOSS_GOLD", default=10_000)
LIVEOPS_CHASE_FACTOR = 2
LIVEOPS_CHASE_MINUTES = 15
LIVEOPS_CHASE_LOOKBACK_HOURS = 24
CELERY_BEAT_SCHEDULE.update(
    {
        "recompute-player-metrics": {
            "task": "liveops.tasks.player_metrics_recompute_task",
            "schedule": timedelta(minutes=LIVEOPS_METRICS_MINUTES),
        },
        "dispatch-due-campaigns": {
            "task": "liveops.tasks.campaigns_dispatch_due_task",
            "schedule": timedelta(seconds=LIVEOPS_DISPATCH_SECONDS),
        },
    }
)

# E-mail (docs/decisions/0225-e-mail.md): Django's SMTP backend, configured by one URL read with
# django-environ: smtp://user:password@host:25, smtp+tls://…:587 (STARTTLS), smtp+ssl://…:465.
# Without EMAIL_URL mail goes to the local capture server `make run` starts (nothing leaves the
# machine); production refuses to start without a real relay (settings/production.py).
EMAIL_URL_DEFAULT = "smtp://127.0.0.1:2525"
EMAIL_URL_SET = bool(env.str("EMAIL_URL", default="").strip())
_email = env.email_url("EMAIL_URL", default=EMAIL_URL_DEFAULT)
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"]
EMAIL_PORT = _email["EMAIL_PORT"]
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"]
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"]
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS", False))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL", False))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT_SECONDS", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Casino Club <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Links in e-mail point here (the site's public address, no trailing slash).
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")
# A password-reset link and an address-verification link are valid this long.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT_SECONDS", default=60 * 60)
EMAIL_VERIFICATION_TIMEOUT_SECONDS = env.int("EMAIL_VERIFICATION_TIMEOUT_SECONDS", default=86400)
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].update(  # type: ignore[union-attr]  # a dict above
    {
        "password_reset": env.str("THROTTLE_PASSWORD_RESET", default="5/min"),
        "email": env.str("THROTTLE_EMAIL", default="5/min"),
        "export": env.str("THROTTLE_EXPORT", default="10/hour"),
    }
)

# Free-gold refill (docs/decisions/0227-free-gold-refill.md): a player under the threshold may
# claim the amount once every interval.
REFILL_THRESHOLD_GOLD = env.int("REFILL_THRESHOLD_GOLD", default=100)
REFILL_AMOUNT_GOLD = env.int("REFILL_AMOUNT_GOLD", default=500)
REFILL_INTERVAL_HOURS = env.int("REFILL_INTERVAL_HOURS", default=4)

# Account deletion (docs/decisions/0229-account-deletion.md): anonymised after this many days.
ACCOUNT_DELETION_GRACE_DAYS = env.int("ACCOUNT_DELETION_GRACE_DAYS", default=14)

# Operations players notice (docs/decisions/0226-announcements-and-maintenance.md).
TEMPLATES[0]["OPTIONS"]["context_processors"].append(  # type: ignore[index]  # the one backend
    "casinoclub.operations.operations_context"
)
CELERY_BEAT_SCHEDULE.update(
    {
        "push-started-announcements": {
            "task": "casinoclub.tasks.announcements_push_started_task",
            "schedule": timedelta(seconds=30),
        },
        "anonymise-deleted-accounts": {
            "task": "accounts.tasks.accounts_anonymise_due_task",
            "schedule": timedelta(hours=1),
        },
    }
)

# Analytics (docs/decisions/0235-analytics-app.md): activity from every authenticated request and
# socket, daily rollups by a beat job (today so far and ANALYTICS_ROLLUP_DAYS_BACK days before it,
# every ANALYTICS_ROLLUP_MINUTES minutes); pages read only the rollups.
INSTALLED_APPS.append("analytics")
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "analytics.middleware.ActivityMiddleware",
)
ANALYTICS_ROLLUP_MINUTES = max(1, env.int("ANALYTICS_ROLLUP_MINUTES", default=15))
ANALYTICS_ROLLUP_DAYS_BACK = max(1, env.int("ANALYTICS_ROLLUP_DAYS_BACK", default=2))
# raw activity rows are kept this long (a rollup run reads back 30 days for MAU and D30 retention,
# from up to ANALYTICS_ROLLUP_DAYS_BACK days ago); the rollups themselves are kept
ANALYTICS_ACTIVITY_RETENTION_DAYS = max(
    ANALYTICS_ROLLUP_DAYS_BACK + 31, env.int("ANALYTICS_ACTIVITY_RETENTION_DAYS", default=400)
)
CELERY_BEAT_SCHEDULE.update(
    {
        "analytics-rollup": {
            "task": "analytics.tasks.analytics_rollup_task",
            "schedule": timedelta(minutes=ANALYTICS_ROLLUP_MINUTES),
        },
        "purge-player-activity": {  # docs/decisions/0118-retention-purges.md
            "task": "analytics.tasks.activity_purge_task",
            "schedule": crontab(minute=50, hour=4),
        },
    }
)
