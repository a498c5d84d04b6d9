"""Every state change of the accounts app. Other apps call these, never the models directly."""

from .auth import (
    LoginResult,
    invite_code_check,
    invite_codes_create,
    login_failures_purge,
    token_refresh,
    user_login,
    user_logout,
    user_set_active,
    user_signup,
    user_tokens_revoke_all,
    user_update_profile,
)
from .inventory import inventory_add
from .progression import ExperienceResult, level_up_reward, user_experience_add
from .staff import audit_log_record, staff_gold_adjust
from .wallet import wallet_credit, wallet_debit, wallet_open, wallets_lock

__all__ = [
    "ExperienceResult",
    "LoginResult",
    "audit_log_record",
    "inventory_add",
    "invite_code_check",
    "invite_codes_create",
    "level_up_reward",
    "login_failures_purge",
    "staff_gold_adjust",
    "token_refresh",
    "user_experience_add",
    "user_login",
    "user_logout",
    "user_set_active",
    "user_signup",
    "user_tokens_revoke_all",
    "user_update_profile",
    "wallet_credit",
    "wallet_debit",
    "wallet_open",
    "wallets_lock",
]
