"""Account and authentication failures, each with a stable code."""

from rest_framework import status

from casinoclub.errors import ApplicationError


class InviteCodeInvalid(ApplicationError):
    code = "invite_code_invalid"
    message = "This invite code does not exist."


class InviteCodeExpired(InviteCodeInvalid):
    code = "invite_code_expired"
    message = "This invite code has expired."


class InviteCodeUsedUp(InviteCodeInvalid):
    code = "invite_code_used_up"
    message = "This invite code has no uses left."


class SiteIdTaken(ApplicationError):
    code = "site_id_taken"
    status_code = status.HTTP_409_CONFLICT
    message = "This site ID is already registered."


class NicknameTaken(ApplicationError):
    code = "nickname_taken"
    status_code = status.HTTP_409_CONFLICT
    message = "This nickname is already taken."


class PhoneNumberTaken(ApplicationError):
    code = "phone_number_taken"
    status_code = status.HTTP_409_CONFLICT
    message = "This phone number is already registered."


class WeakPassword(ApplicationError):
    code = "weak_password"
    message = "The password is too weak."


class InvalidCredentials(ApplicationError):
    code = "invalid_credentials"
    status_code = status.HTTP_401_UNAUTHORIZED
    message = "The login or password is wrong."


class PasswordIncorrect(ApplicationError):
    code = "password_incorrect"
    message = "The current password is wrong."


class LoginLocked(ApplicationError):
    code = "login_locked"
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    message = "Too many failed logins. Try again later."


class AccountBanned(ApplicationError):
    code = "account_banned"
    status_code = status.HTTP_403_FORBIDDEN
    message = "This account has been suspended."


class RefreshTokenInvalid(ApplicationError):
    code = "token_not_valid"
    status_code = status.HTTP_401_UNAUTHORIZED
    message = "The refresh token is invalid or expired."


class RefreshTokenReused(ApplicationError):
    code = "token_reused"
    status_code = status.HTTP_401_UNAUTHORIZED
    message = "This refresh token was already used. Every session has been signed out."


class TokenNotYours(ApplicationError):
    code = "permission_denied"
    status_code = status.HTTP_403_FORBIDDEN
    message = "This token belongs to another account."


class InvalidAmount(ApplicationError):
    code = "invalid_amount"
    message = "The amount must be a non-zero whole number of gold within limits."


class InsufficientFunds(ApplicationError):
    code = "insufficient_funds"
    status_code = status.HTTP_409_CONFLICT
    message = "Not enough gold."


class UserNotFound(ApplicationError):
    code = "not_found"
    status_code = status.HTTP_404_NOT_FOUND
    message = "No such player."


class ReasonRequired(ApplicationError):
    code = "reason_required"
    message = "A reason of 1 to 500 characters is required."


class ImportFileInvalid(ApplicationError):
    code = "import_file_invalid"
    message = (
        "The file is not a CSV with the columns "
        "site_id,nickname,phone_number,password,birth_date[,rank]."
    )


class AgeRestricted(ApplicationError):
    code = "age_restricted"
    message = "You must be old enough to play to sign up."


class BirthDateRequired(ApplicationError):
    code = "birth_date_required"
    status_code = status.HTTP_403_FORBIDDEN
    message = "Enter your birth date before you play or buy (POST /api/users/me/birth-date)."


class BirthDateAlreadySet(ApplicationError):
    code = "birth_date_already_set"
    status_code = status.HTTP_409_CONFLICT
    message = "Your birth date is already on file; support can correct it."


class PlayerNotOfAge(ApplicationError):
    code = "age_restricted"
    status_code = status.HTTP_403_FORBIDDEN
    message = "You must be old enough to play to play or buy."


class BlockNotActive(ApplicationError):
    code = "block_not_active"
    status_code = status.HTTP_409_CONFLICT
    message = "This player has no running cool-off or self-exclusion to extend."


class PlayBlocked(ApplicationError):
    code = "play_blocked"
    status_code = status.HTTP_403_FORBIDDEN
    message = "Play and purchases are paused on your account (cool-off or self-exclusion)."


class PurchaseLimitReached(ApplicationError):
    code = "purchase_limit_reached"
    status_code = status.HTTP_403_FORBIDDEN
    message = "This purchase would go over the daily limit you set."


class BlockCannotBeShortened(ApplicationError):
    code = "block_cannot_be_shortened"
    status_code = status.HTTP_409_CONFLICT
    message = "A running cool-off or self-exclusion cannot be shortened."


# ---------------------------------------------------------------- staff sign-in (admin)


class StaffSignInFailed(ApplicationError):
    """Any refused staff sign-in but a lockout: one answer, so nothing tells which part was wrong
    (unknown account, wrong password, a player or banned account, a wrong second factor)."""

    code = "staff_sign_in_failed"
    status_code = status.HTTP_401_UNAUTHORIZED
    message = "The site ID, password or verification code is wrong."


class SecondFactorRequired(ApplicationError):
    code = "second_factor_required"
    status_code = status.HTTP_403_FORBIDDEN
    message = (
        "Staff routes need a session signed in at /admin/ with a verification code; "
        "bearer tokens are not accepted for them."
    )


class NotStaff(ApplicationError):
    code = "not_staff"
    message = "Only staff accounts enrol a second factor."


class SecondFactorAlreadyEnrolled(ApplicationError):
    code = "second_factor_already_enrolled"
    status_code = status.HTTP_409_CONFLICT
    message = "This account already has an authenticator; replace it explicitly."


class SelfGrantForbidden(ApplicationError):
    code = "self_grant_forbidden"
    status_code = status.HTTP_403_FORBIDDEN
    message = "Staff cannot grant, revoke or approve gold for their own account."


class SuperuserProtected(ApplicationError):
    code = "superuser_protected"
    status_code = status.HTTP_403_FORBIDDEN
    message = "Only a superuser can ban, unban or change a superuser."


class SecondApproverRequired(ApplicationError):
    code = "second_approver_required"
    status_code = status.HTTP_403_FORBIDDEN
    message = "A grant request is approved or rejected by a staff member other than its requester."


class GrantRequestNotPending(ApplicationError):
    code = "grant_request_not_pending"
    status_code = status.HTTP_409_CONFLICT
    message = "This grant request has already been decided."


class GrantRequestNotFound(ApplicationError):
    code = "not_found"
    status_code = status.HTTP_404_NOT_FOUND
    message = "No such grant request."


class InvalidProgression(ApplicationError):
    code = "invalid_progression"
    message = "Give a level of at least 1 and experience from 0 to below that level's threshold."


class InvalidBanEnd(ApplicationError):
    code = "invalid_ban_end"
    message = "A ban ends in the future (or never)."


class NoteInvalid(ApplicationError):
    code = "note_invalid"
    message = "A note of 1 to 2000 characters is required."


class ItemNotOwned(ApplicationError):
    code = "item_not_owned"
    status_code = status.HTTP_409_CONFLICT
    message = "You do not own this item."


class ItemNotEquippable(ApplicationError):
    code = "item_not_equippable"
    message = "This item cannot be equipped."


class EmailTaken(ApplicationError):
    code = "email_taken"
    status_code = status.HTTP_409_CONFLICT
    message = "This e-mail address is already registered."


class EmailVerificationInvalid(ApplicationError):
    code = "email_verification_invalid"
    message = "This verification link is invalid, expired or already used."


class NoEmailToVerify(ApplicationError):
    code = "no_email_to_verify"
    status_code = status.HTTP_409_CONFLICT
    message = "There is no unverified e-mail address to send a link to."


class PasswordResetLinkInvalid(ApplicationError):
    code = "reset_link_invalid"
    message = "This password reset link is invalid, expired or already used."


class RefillNotAvailable(ApplicationError):
    code = "refill_over_threshold"
    status_code = status.HTTP_409_CONFLICT
    message = "The free refill is only for a balance under the threshold."


class RefillTooSoon(ApplicationError):
    code = "refill_too_soon"
    status_code = status.HTTP_409_CONFLICT
    message = "The next free refill is not available yet."


class DeletionNotRequested(ApplicationError):
    code = "deletion_not_requested"
    status_code = status.HTTP_409_CONFLICT
    message = "This account is not scheduled for deletion."
