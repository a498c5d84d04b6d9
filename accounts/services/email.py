"""E-mail addresses, their verification and the password reset by e-mail.

Invariants:
- setting or changing the address clears its verification and sends a link to the new address;
  an address is unique case-insensitively (``EmailTaken``, 409);
- a verification link is signed (Django's ``TimestampSigner``), expires after
  ``EMAIL_VERIFICATION_TIMEOUT_SECONDS`` and works once: it names the address it was sent to and
  only verifies that address while it is still unverified;
- a password reset uses Django's own flow (``PasswordResetForm``, ``default_token_generator``):
  mail goes only to a verified address of an active account; the request never says whether
  the address exists and its mail is sent by a task, so the answer takes the same time either
  way; the link works once (the token covers the password hash) and a reset revokes every token
  and page session of the player (``user_tokens_revoke_all``);
- mail is sent after commit through Django's mail backend (SMTP in every deployment), rendered
  from the player's language's templates (subject, text, HTML).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from accounts import exceptions
from accounts.models import User
from casinoclub.queueing import task_enqueue

from .auth import user_tokens_revoke_all

EMAIL_VERIFICATION_SALT = "accounts.email-verification"
EMAIL_LANGUAGES = {code for code, _name in settings.LANGUAGES}


def email_language(language: str | None) -> str:
    """A language the e-mail templates exist in: ``language`` if supported, else the default."""
    code = (language or "").split("-")[0].lower()
    return code if code in EMAIL_LANGUAGES else settings.LANGUAGE_CODE


def user_language_remember(user_id: int, language: str) -> None:
    """Remember the language the player uses (``User.language``: e-mail and the texts of later
    campaigns are rendered in it). One statement that writes only when it changed. Idempotent."""
    language = email_language(language)
    User.objects.filter(pk=user_id).exclude(language=language).update(language=language)


def email_render_send(*, to: str, template: str, language: str, context: dict[str, Any]) -> None:
    """Render ``accounts/email/<template>.<language>.{subject.txt,txt,html}`` and send it now
    through the configured backend. Raises what the backend raises (a task retries)."""
    language = email_language(language)
    context = {**context, "site_url": settings.SITE_URL}
    with translation.override(language):
        prefix = f"accounts/email/{template}.{language}"
        subject = " ".join(render_to_string(f"{prefix}.subject.txt", context).split())
        text = render_to_string(f"{prefix}.txt", context)
        html = render_to_string(f"{prefix}.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to])
    message.attach_alternative(html, "text/html")
    message.send()


# ---------------------------------------------------------------- the address


def email_normalise(email: str) -> str:
    local, _, domain = email.strip().rpartition("@")
    return f"{local}@{domain.lower()}"


def user_email_set(user: User, email: str, *, language: str) -> User:
    """Set (or change) the player's address: verification cleared, a link sent to it after
    commit. The same address again, still unverified, sends a new link. Raises ``EmailTaken``.
    Not idempotent (each call sends a link)."""
    email = email_normalise(email)
    if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
        raise exceptions.EmailTaken()
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.email.lower() != email.lower() or locked.email_verified_at is None:
            locked.email = email
            locked.email_verified_at = None
        locked.language = email_language(language)
        try:
            with transaction.atomic():
                locked.save(update_fields=["email", "email_verified_at", "language"])
        except IntegrityError as error:  # a concurrent claim of the same address
            raise exceptions.EmailTaken() from error
        if locked.email_verified_at is None:
            _verification_send_after_commit(locked)
    user.email, user.email_verified_at, user.language = (
        locked.email,
        locked.email_verified_at,
        locked.language,
    )
    return user


def user_email_verification_resend(user: User) -> None:
    """Send a new link to the player's unverified address. Raises ``NoEmailToVerify``."""
    stored = User.objects.get(pk=user.pk)
    if not stored.email or stored.email_verified_at is not None:
        raise exceptions.NoEmailToVerify()
    _verification_send_after_commit(stored)


def email_verification_token(user: User) -> str:
    """A signed, timestamped token naming the user and the address it verifies."""
    return signing.dumps(
        {"user": user.pk, "email": user.email.lower()}, salt=EMAIL_VERIFICATION_SALT
    )


def _send_after_commit(task: Any, *args: Any) -> None:
    """Queue a mail task after commit. Robust: a failure to send (an eager run in tests and
    demos, a relay down) is logged and never turns the player's request into an error."""
    transaction.on_commit(lambda: task_enqueue(task, *args), robust=True)


def _verification_send_after_commit(user: User) -> None:
    from accounts.tasks import email_verification_send_task

    _send_after_commit(email_verification_send_task, user.pk, user.email)


def email_verification_send(user_id: int, email: str) -> bool:
    """Send the verification link for ``email`` if it is still the user's unverified address
    (a later change made this send moot: nothing is sent, False)."""
    user = User.objects.filter(pk=user_id).first()
    if user is None or user.email.lower() != email.lower() or user.email_verified_at is not None:
        return False
    token = email_verification_token(user)
    email_render_send(
        to=user.email,
        template="verify_email",
        language=user.language,
        context={
            "nickname": user.nickname,
            "link": settings.SITE_URL + reverse("email-verify", args=[token]),
            "hours": settings.EMAIL_VERIFICATION_TIMEOUT_SECONDS // 3600,
        },
    )
    return True


def user_email_verify(token: str) -> User:
    """Mark the address the token names verified. Raises ``EmailVerificationInvalid`` for a
    forged, expired or used token, or one whose address is no longer the player's."""
    try:
        payload = signing.loads(
            token,
            salt=EMAIL_VERIFICATION_SALT,
            max_age=settings.EMAIL_VERIFICATION_TIMEOUT_SECONDS,
        )
    except signing.BadSignature as error:  # SignatureExpired is a BadSignature
        raise exceptions.EmailVerificationInvalid() from error
    if not isinstance(payload, dict) or not isinstance(payload.get("user"), int):
        raise exceptions.EmailVerificationInvalid()
    with transaction.atomic():
        updated = (
            User.objects.filter(
                pk=int(payload["user"]),
                email__iexact=str(payload.get("email", "")),
                email_verified_at__isnull=True,
                is_active=True,
            )
            .exclude(email="")
            .update(email_verified_at=timezone.now())
        )
        if updated != 1:
            raise exceptions.EmailVerificationInvalid()
        return User.objects.get(pk=payload["user"])


# ---------------------------------------------------------------- password reset


class PlayerPasswordResetForm(PasswordResetForm):
    """Django's reset form: only to a verified address; sent by a task, in the player's
    language, the link to the site's public address (``SITE_URL``)."""

    def get_users(self, email: str) -> Any:
        return (
            user
            for user in super().get_users(email)
            if user.email_verified_at is not None and user.anonymised_at is None
        )

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Queue the mail (after commit); the caller answers at once whatever the address."""
        from accounts.tasks import password_reset_send_task

        _send_after_commit(password_reset_send_task, self.cleaned_data["email"])

    def send_now(self) -> None:
        site = urlsplit(settings.SITE_URL)
        PasswordResetForm.save(
            self,
            domain_override=site.netloc,
            use_https=site.scheme == "https",
            token_generator=default_token_generator,
            from_email=settings.DEFAULT_FROM_EMAIL,
        )

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        user = context["user"]
        link = settings.SITE_URL + reverse(
            "password-reset-confirm", kwargs={"uidb64": context["uid"], "token": context["token"]}
        )
        email_render_send(
            to=to_email,
            template="password_reset",
            language=user.language,
            context={
                "nickname": user.nickname,
                "link": link,
                "minutes": settings.PASSWORD_RESET_TIMEOUT // 60,
            },
        )


def password_reset_request(email: str) -> None:
    """Queue a reset mail to ``email`` if it is a verified address; says nothing either way."""
    form = PlayerPasswordResetForm(data={"email": email})
    if form.is_valid():
        form.save()


def password_reset_send(email: str) -> None:
    """Send the reset mail now (the task's body)."""
    form = PlayerPasswordResetForm(data={"email": email})
    if form.is_valid():
        form.send_now()


class PlayerSetPasswordForm(SetPasswordForm):
    """Django's set-password form (the site's password validators); saving revokes every token
    and page session of the player."""

    def save(self, commit: bool = True) -> Any:
        with transaction.atomic():
            user = super().save(commit=commit)
            user_tokens_revoke_all(user)
        return user


def password_reset_user(uidb64: str, token: str) -> User:
    """The user a reset link names, if its token is valid. Raises ``PasswordResetLinkInvalid``."""
    try:
        user_id = int(urlsafe_base64_decode(uidb64).decode())
    except (ValueError, TypeError, UnicodeDecodeError) as error:
        raise exceptions.PasswordResetLinkInvalid() from error
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not default_token_generator.check_token(user, token):
        raise exceptions.PasswordResetLinkInvalid()
    return user


def password_reset_confirm(uidb64: str, token: str, new_password: str) -> None:
    """Set a new password through a reset link: the link is then spent (the token covers the
    password hash) and every token and session of the player is revoked. Raises
    ``PasswordResetLinkInvalid`` or ``WeakPassword``. Not idempotent."""
    with transaction.atomic(durable=True):
        user = password_reset_user(uidb64, token)
        user = User.objects.select_for_update().get(pk=user.pk)
        if not default_token_generator.check_token(user, token):  # a concurrent reset won
            raise exceptions.PasswordResetLinkInvalid()
        form = PlayerSetPasswordForm(
            user, data={"new_password1": new_password, "new_password2": new_password}
        )
        if not form.is_valid():
            problems = [str(error) for errors in form.errors.values() for error in errors]
            raise exceptions.WeakPassword(details={"new_password": problems})
        form.save()


def password_reset_uid(user: User) -> str:
    return urlsafe_base64_encode(force_bytes(user.pk))
