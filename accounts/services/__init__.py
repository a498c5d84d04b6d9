"""Every state change of the accounts app. Other apps call these, never the models directly."""

from .audit import audit_log_record
from .auth import (
    LoginResult,
    invite_code_check,
    invite_codes_create,
    invite_codes_set_active,
    login_failures_purge,
    password_problems,
    token_refresh,
    user_create,
    user_login,
    user_logout,
    user_set_active,
    user_signup,
    user_tokens_revoke_all,
    user_update_profile,
)
from .imports import (
    ImportRowError,
    UserImportReport,
    user_import_confirm,
    user_import_preview,
    user_import_run_staged,
    user_import_status,
    users_import_csv,
)
from .inventory import inventory_add
from .progression import ExperienceResult, level_up_reward, user_experience_add
from .retention import refresh_tokens_purge_expired, sessions_purge_expired
from .staff import (
    invite_code_audited_state,
    staff_gold_adjust,
    staff_invite_code_saved,
    staff_objects_deleted,
    staff_user_saved,
    user_audited_state,
)
from .wallet import wallet_credit, wallet_debit, wallet_open, wallets_lock

__all__ = [
    "ExperienceResult",
    "ImportRowError",
    "LoginResult",
    "UserImportReport",
    "audit_log_record",
    "inventory_add",
    "invite_code_audited_state",
    "invite_code_check",
    "invite_codes_create",
    "invite_codes_set_active",
    "level_up_reward",
    "login_failures_purge",
    "password_problems",
    "refresh_tokens_purge_expired",
    "sessions_purge_expired",
    "staff_gold_adjust",
    "staff_invite_code_saved",
    "staff_objects_deleted",
    "staff_user_saved",
    "token_refresh",
    "user_audited_state",
    "user_create",
    "user_experience_add",
    "user_import_confirm",
    "user_import_preview",
    "user_import_run_staged",
    "user_import_status",
    "user_login",
    "user_logout",
    "user_set_active",
    "user_signup",
    "user_tokens_revoke_all",
    "user_update_profile",
    "users_import_csv",
    "wallet_credit",
    "wallet_debit",
    "wallet_open",
    "wallets_lock",
]
