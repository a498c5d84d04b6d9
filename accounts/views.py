"""Thin HTTP adapters: parse input, call one service or selector, shape the output."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import update_session_auth_hash
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import Token as JsonWebToken

from casinoclub.client_address import client_address
from casinoclub.idempotency import KEY_PATTERN, run_idempotent
from casinoclub.openapi import error_responses
from casinoclub.permissions import staff_permission
from casinoclub.throttling import ScopedRateThrottle

from . import exceptions, serializers, services
from .authentication import request_player
from .models import LedgerEntry
from .permissions import StaffSecondFactorVerified
from .selectors import equipped_for_users, inventory_list, user_get_public
from .services import responsible
from .tokens import SESSION_CLAIM, token_pair_for_user

IDEMPOTENCY_KEY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "pattern": KEY_PATTERN.pattern, "minLength": 8, "maxLength": 100},
    OpenApiParameter.HEADER,
    required=True,
    description=(
        "Required on every gold-moving request: 8-100 letters, digits or `_-:.`, new for each "
        "intended operation. A retry with the same key and body gets the first answer again."
    ),
)


class PublicAPIView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]


class SignupView(PublicAPIView):
    throttle_scope = "signup"

    @extend_schema(
        request=serializers.SignupInputSerializer,
        responses={201: serializers.AuthResultSerializer, **error_responses(409)},
        operation_id="auth_signup",
    )
    def post(self, request: Request) -> Response:
        data = serializers.SignupInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_signup(**data.validated_data)
        body = {**token_pair_for_user(user), "user": serializers.ProfileSerializer(user).data}
        return Response(body, status=status.HTTP_201_CREATED)


class LoginView(PublicAPIView):
    throttle_scope = "login"

    @extend_schema(
        request=serializers.LoginInputSerializer,
        responses={200: serializers.AuthResultSerializer, **error_responses(401, 403)},
        operation_id="auth_login",
    )
    def post(self, request: Request) -> Response:
        data = serializers.LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        identifier = data.validated_data.get("site_id") or data.validated_data["nickname"]
        result = services.user_login(
            identifier=identifier,
            password=data.validated_data["password"],
            ip_address=client_address(request),
        )
        return Response({**result.tokens, "user": serializers.ProfileSerializer(result.user).data})


class RefreshView(PublicAPIView):
    throttle_scope = "refresh"

    @extend_schema(
        request=serializers.RefreshInputSerializer,
        responses={200: serializers.TokenPairSerializer, **error_responses(401)},
        operation_id="auth_refresh",
    )
    def post(self, request: Request) -> Response:
        data = serializers.RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(services.token_refresh(data.validated_data["refresh"]))


class LogoutView(APIView):
    @extend_schema(
        request=serializers.RefreshInputSerializer,
        responses={204: None},
        operation_id="auth_logout",
        description=(
            "End the login session of this refresh token: it is blacklisted and every access "
            "token of the session (including the one you called with, when it is of that "
            "session) is refused from now on. Other sessions are untouched. Idempotent."
        ),
    )
    def post(self, request: Request) -> Response:
        data = serializers.RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_logout(request.user, data.validated_data["refresh"])  # type: ignore[arg-type]  # authenticated
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(APIView):
    @extend_schema(request=None, responses={204: None}, operation_id="auth_logout_all")
    def post(self, request: Request) -> Response:
        services.user_tokens_revoke_all(request.user)  # type: ignore[arg-type]  # authenticated
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "password"

    @extend_schema(
        request=serializers.PasswordChangeInputSerializer,
        responses={
            200: serializers.TokenPairSerializer,
            204: None,
            **error_responses(400, 429),
        },
        operation_id="auth_password_change",
        description=(
            "Change your password (`current_password`, `new_password`; Django's password "
            "validators). Every other token and page session of yours is revoked at once. "
            "Called with a Bearer token: 200 with a fresh token pair of the same login session "
            "(the tokens you called with are revoked too). Called with the pages' session "
            "cookie: 204, and that session stays signed in. A wrong current password is 400 "
            "`password_incorrect` and counts as a failed login toward the account's lockout "
            "(429 `login_locked`); a weak or unchanged new password is 400 `weak_password`."
        ),
    )
    def post(self, request: Request) -> Response:
        data = serializers.PasswordChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        player = request_player(request)
        services.user_password_change(
            player,
            current_password=data.validated_data["current_password"],
            new_password=data.validated_data["new_password"],
            ip_address=client_address(request),
        )
        if isinstance(request.successful_authenticator, SessionAuthentication):
            update_session_auth_hash(request, player)
            return Response(status=status.HTTP_204_NO_CONTENT)
        access = request.auth  # the Bearer access token
        session_id = access.get(SESSION_CLAIM) if isinstance(access, JsonWebToken) else None
        return Response(token_pair_for_user(player, session_id=session_id))


class InviteValidateView(PublicAPIView):
    throttle_scope = "invite"

    @extend_schema(
        request=serializers.InviteValidateInputSerializer,
        responses={200: serializers.InviteValidateOutputSerializer},
        operation_id="invite_validate",
    )
    def post(self, request: Request) -> Response:
        data = serializers.InviteValidateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.invite_code_check(data.validated_data["invite_code"])
        except exceptions.InviteCodeInvalid as error:
            return Response({"valid": False, "code": error.code})
        return Response({"valid": True, "code": None})


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: serializers.ProfileSerializer}, operation_id="users_me")
    def get(self, request: Request) -> Response:
        return Response(serializers.ProfileSerializer(request.user).data)

    @extend_schema(
        request=serializers.ProfileUpdateInputSerializer,
        responses={200: serializers.ProfileSerializer},
        operation_id="users_me_update",
    )
    def patch(self, request: Request) -> Response:
        data = serializers.ProfileUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_update_profile(request.user, **data.validated_data)  # type: ignore[arg-type]  # authenticated
        return Response(serializers.ProfileSerializer(user).data)


class BirthDateView(APIView):
    """An account made without a birth date gives it once (asked at its next login)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=serializers.BirthDateInputSerializer,
        responses={200: serializers.ProfileSerializer, **error_responses(400, 403, 409)},
        operation_id="users_me_birth_date",
        description=(
            "Record the birth date of an account that has none (`birth_date_required` in the "
            "profile); until then every round and purchase answers 403 `birth_date_required`. "
            "Once on file it cannot be changed here (409 `birth_date_already_set`); a date under "
            "the minimum age is kept and answers 400 `age_restricted`."
        ),
    )
    def post(self, request: Request) -> Response:
        data = serializers.BirthDateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = responsible.birth_date_give(
            request_player(request).pk, data.validated_data["birth_date"]
        )
        return Response(serializers.ProfileSerializer(user).data)


class ItemsView(APIView):
    """The player's inventory (display names, kinds) and what they have equipped."""

    @extend_schema(
        responses={200: serializers.PlayerItemsSerializer}, operation_id="users_me_items"
    )
    def get(self, request: Request) -> Response:
        player_id = request_player(request).pk
        return Response(_inventory(player_id))


def _inventory(player_id: int) -> dict[str, Any]:
    return {
        "items": inventory_list(player_id),
        "equipped": equipped_for_users([player_id]).get(player_id, []),
    }


class ItemEquipView(APIView):
    """Equip an owned item in its kind's slot (one per kind). 409 ``item_not_owned`` for an item
    the player does not own, 400 ``item_not_equippable`` for one of no kind; nothing changes."""

    @extend_schema(
        request=serializers.ItemEquipInputSerializer,
        responses={200: serializers.PlayerItemsSerializer, **error_responses(400, 409)},
        operation_id="users_me_items_equip",
    )
    def post(self, request: Request) -> Response:
        data = serializers.ItemEquipInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        player_id = request_player(request).pk
        services.item_equip(player_id, data.validated_data["item_code"])
        return Response(_inventory(player_id))


class ItemUnequipView(APIView):
    """Empty one slot (``kind``); idempotent."""

    @extend_schema(
        request=serializers.ItemUnequipInputSerializer,
        responses={200: serializers.PlayerItemsSerializer, **error_responses(400)},
        operation_id="users_me_items_unequip",
    )
    def post(self, request: Request) -> Response:
        data = serializers.ItemUnequipInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        player_id = request_player(request).pk
        services.item_unequip(player_id, data.validated_data["kind"])
        return Response(_inventory(player_id))


class UserPublicView(APIView):
    @extend_schema(
        responses={200: serializers.PublicProfileSerializer}, operation_id="users_public"
    )
    def get(self, request: Request, user_id: int) -> Response:
        user = user_get_public(user_id)
        if user is None:
            raise NotFound("No such player.")
        return Response(serializers.PublicProfileSerializer(user).data)


class StaffGoldAdjustView(APIView):
    """Staff grant (amount > 0) or revoke (amount < 0) with a reason; idempotent.

    200 with the ledger entry within ``STAFF_GRANT_LIMIT``; above it 202 with a pending grant
    request that another staff member approves in admin. Never on one's own account (403).
    """

    permission_classes = [staff_permission("accounts.grant_gold"), StaffSecondFactorVerified]

    @extend_schema(
        request=serializers.GoldAdjustInputSerializer,
        responses={
            200: serializers.LedgerEntrySerializer,
            202: serializers.GoldGrantRequestSerializer,
        },
        parameters=[IDEMPOTENCY_KEY_HEADER],
        operation_id="admin_users_gold_adjust",
    )
    def post(self, request: Request, user_id: int) -> HttpResponse:
        data = serializers.GoldAdjustInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)

        def adjust(key: str) -> tuple[int, Any]:
            result = services.staff_gold_adjust(
                actor=request.user,  # type: ignore[arg-type]  # staff only
                user_id=user_id,
                amount=data.validated_data["amount"],
                reason=data.validated_data["reason"],
                idempotency_key=key,
            )
            if isinstance(result, LedgerEntry):
                return 200, serializers.LedgerEntrySerializer(result).data
            return 202, serializers.GoldGrantRequestSerializer(result).data

        return run_idempotent(request, adjust, maintenance_exempt=True)


def _responsible_play_change(
    request: Request, serializer_class: type, change: Callable[[int, Any], object], field: str
) -> Response:
    """Validate one field, apply one responsible-play service, answer with the new status."""
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    player = request_player(request)
    change(player.pk, data.validated_data[field])
    return Response(responsible.responsible_play_status(player.pk))


class ResponsiblePlayView(APIView):
    @extend_schema(
        responses={200: serializers.ResponsiblePlayStatusSerializer},
        operation_id="responsible_play_status",
    )
    def get(self, request: Request) -> Response:
        return Response(responsible.responsible_play_status(request_player(request).pk))


class PurchaseLimitView(APIView):
    @extend_schema(
        request=serializers.PurchaseLimitInputSerializer,
        responses={200: serializers.ResponsiblePlayStatusSerializer},
        operation_id="responsible_play_purchase_limit",
    )
    def post(self, request: Request) -> Response:
        return _responsible_play_change(
            request,
            serializers.PurchaseLimitInputSerializer,
            responsible.purchase_limit_set,
            "daily_purchase_limit_cents",
        )


class CoolOffView(APIView):
    @extend_schema(
        request=serializers.CoolOffInputSerializer,
        responses={200: serializers.ResponsiblePlayStatusSerializer},
        operation_id="responsible_play_cool_off",
    )
    def post(self, request: Request) -> Response:
        return _responsible_play_change(
            request, serializers.CoolOffInputSerializer, responsible.cool_off_start, "duration"
        )


class SelfExclusionView(APIView):
    @extend_schema(
        request=serializers.SelfExclusionInputSerializer,
        responses={200: serializers.ResponsiblePlayStatusSerializer},
        operation_id="responsible_play_self_exclusion",
    )
    def post(self, request: Request) -> Response:
        return _responsible_play_change(
            request,
            serializers.SelfExclusionInputSerializer,
            responsible.self_exclusion_start,
            "days",
        )


# ---------------------------------------------------------------- e-mail and password reset


def _request_language(request: Request) -> str:
    from django.utils import translation

    return translation.get_language_from_request(request._request) or ""


VERIFICATION_SENT = "A new verification link is on its way to your address."
RESET_ASKED = "If this address is verified on an account, a reset link is on its way."


class EmailView(APIView):
    """The player's e-mail address."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "email"

    @extend_schema(
        request=serializers.EmailSetInputSerializer,
        responses={200: serializers.EmailStatusSerializer, **error_responses(409, 429)},
        operation_id="users_me_email_set",
        description=(
            "Set or change your e-mail address. It is unverified until you open the link sent "
            "to it (valid `EMAIL_VERIFICATION_TIMEOUT_SECONDS`, once); changing the address "
            "clears the verification. Only a verified address receives password-reset mail. "
            "409 `email_taken` when another account has it. The mail is in your current "
            "language (Korean or English)."
        ),
    )
    def put(self, request: Request) -> Response:
        data = serializers.EmailSetInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_email_set(
            request_player(request),
            data.validated_data["email"],
            language=_request_language(request),
        )
        return Response(_email_status(user))


def _email_status(user: Any) -> dict[str, Any]:
    return {
        "email": user.email,
        "email_verified": bool(user.email) and user.email_verified_at is not None,
    }


class EmailResendView(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "email"

    @extend_schema(
        request=None,
        responses={202: serializers.AcceptedSerializer, **error_responses(409, 429)},
        operation_id="users_me_email_resend",
        description="Send a new verification link (409 `no_email_to_verify` if none is pending).",
    )
    def post(self, request: Request) -> Response:
        services.user_email_verification_resend(request_player(request))
        return Response({"detail": VERIFICATION_SENT}, status=status.HTTP_202_ACCEPTED)


class EmailVerifyView(PublicAPIView):
    throttle_scope = "email"

    @extend_schema(
        request=serializers.EmailVerifyInputSerializer,
        responses={200: serializers.EmailStatusSerializer, **error_responses(400)},
        operation_id="users_email_verify",
        description=(
            "Verify an address with the token of the link mailed to it. 400 "
            "`email_verification_invalid` for a forged, expired or already used token."
        ),
    )
    def post(self, request: Request) -> Response:
        data = serializers.EmailVerifyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_email_verify(data.validated_data["token"])
        return Response(_email_status(user))


class PasswordResetView(PublicAPIView):
    throttle_scope = "password_reset"

    @extend_schema(
        request=serializers.PasswordResetInputSerializer,
        responses={202: serializers.AcceptedSerializer},
        operation_id="auth_password_reset",
        description=(
            "Ask for a password-reset link by e-mail. Always 202, whether or not the address "
            "belongs to an account: the mail goes only to a verified address of an active "
            "account. The link is valid `PASSWORD_RESET_TIMEOUT` seconds and works once."
        ),
    )
    def post(self, request: Request) -> Response:
        data = serializers.PasswordResetInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_request(data.validated_data["email"])
        return Response({"detail": RESET_ASKED}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(PublicAPIView):
    throttle_scope = "password_reset"

    @extend_schema(
        request=serializers.PasswordResetConfirmInputSerializer,
        responses={204: None, **error_responses(400)},
        operation_id="auth_password_reset_confirm",
        description=(
            "Set a new password with the `uid` and `token` of a reset link. Every token and "
            "session of the account is revoked; log in with the new password. 400 "
            "`reset_link_invalid` (forged, expired or used link) or `weak_password`."
        ),
    )
    def post(self, request: Request) -> Response:
        data = serializers.PasswordResetConfirmInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_confirm(
            data.validated_data["uid"],
            data.validated_data["token"],
            data.validated_data["new_password"],
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# ---------------------------------------------------------------- free-gold refill


def _refill_status_body(status_: services.RefillStatus) -> dict[str, Any]:
    return serializers.RefillStatusSerializer(status_).data


class RefillView(APIView):
    @extend_schema(
        responses={200: serializers.RefillStatusSerializer},
        operation_id="users_me_refill_status",
        description="Whether the free-gold refill can be claimed now, and when the next one can.",
    )
    def get(self, request: Request) -> Response:
        return Response(_refill_status_body(services.refill_status(request_player(request).pk)))

    @extend_schema(
        request=serializers.RefillClaimInputSerializer,
        responses={200: serializers.RefillClaimResultSerializer},
        parameters=[IDEMPOTENCY_KEY_HEADER],
        operation_id="users_me_refill_claim",
        description=(
            "Claim the free-gold refill: `REFILL_AMOUNT_GOLD` while the balance is under "
            "`REFILL_THRESHOLD_GOLD`, once every `REFILL_INTERVAL_HOURS`. 409 "
            "`refill_over_threshold` or `refill_too_soon` (details: `next_available_at`); "
            "nothing changes then."
        ),
    )
    def post(self, request: Request) -> HttpResponse:
        data = serializers.RefillClaimInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        player_id = request_player(request).pk

        def claim(key: str) -> tuple[int, Any]:
            refill, balance = services.refill_claim(player_id)
            from datetime import timedelta

            from django.conf import settings

            body = {
                "amount": refill.amount,
                "balance": balance,
                "ledger_entry_id": refill.ledger_entry_id,
                "next_available_at": refill.created_at
                + timedelta(hours=settings.REFILL_INTERVAL_HOURS),
            }
            return 200, serializers.RefillClaimResultSerializer(body).data

        return run_idempotent(request, claim)


# ---------------------------------------------------------------- export and deletion


class ExportView(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "export"

    @extend_schema(
        responses={200: {"type": "object", "additionalProperties": True}, **error_responses(429)},
        operation_id="users_me_export",
        description=(
            "Download your data as JSON: one key per section (profile, ledger, refills, rounds, "
            "purchases, notifications, ...), each only about you."
        ),
    )
    def get(self, request: Request) -> HttpResponse:
        import json

        from django.core.serializers.json import DjangoJSONEncoder

        from .exports import user_data_export

        player = request_player(request)
        body = json.dumps(user_data_export(player), cls=DjangoJSONEncoder, ensure_ascii=False)
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="casinoclub-data-{player.pk}.json"'
        response["Cache-Control"] = "no-store"
        return response


class AccountDeletionView(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "password"

    @extend_schema(
        request=serializers.AccountDeletionInputSerializer,
        responses={200: serializers.AccountDeletionStatusSerializer, **error_responses(400, 429)},
        operation_id="users_me_delete",
        description=(
            "Delete your account: confirm with your password (400 `password_incorrect`, which "
            "counts toward the login lockout). You are signed out everywhere at once; after "
            "`ACCOUNT_DELETION_GRACE_DAYS` days your personal data is anonymised and the account "
            "closed (the ledger is kept for accounting). Logging in again before then keeps "
            "the account."
        ),
    )
    def post(self, request: Request) -> Response:
        from django.conf import settings

        data = serializers.AccountDeletionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        due = services.account_deletion_request(
            request_player(request),
            password=data.validated_data["password"],
            ip_address=client_address(request),
        )
        body = {"deletion_scheduled_for": due, "grace_days": settings.ACCOUNT_DELETION_GRACE_DAYS}
        return Response(serializers.AccountDeletionStatusSerializer(body).data)
