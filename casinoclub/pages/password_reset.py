"""The password-reset pages: Django's own views (``PasswordResetView`` and its three partners)
with the player forms of ``accounts.services.email`` and the site's templates.

Asking is rate limited per address like the API route (scope ``password_reset``) and always
lands on "check your mail", whether or not the address belongs to an account.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _

from accounts.services.email import PlayerPasswordResetForm, PlayerSetPasswordForm
from casinoclub.throttling import ScopedRateThrottle


def _throttled(request: HttpRequest) -> bool:
    from types import SimpleNamespace

    throttle = ScopedRateThrottle()
    return not throttle.allow_request(request, SimpleNamespace(throttle_scope="password_reset"))  # type: ignore[arg-type]  # DRF reads only .user/.META and the view's scope


class ResetRequestView(auth_views.PasswordResetView):
    http_method_names = ["get", "post"]
    form_class = PlayerPasswordResetForm
    template_name = "pages/password_reset_form.html"
    success_url = reverse_lazy("password-reset-sent")
    extra_context = {"page": "plain"}

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if _throttled(request):
            return render(
                request,
                self.template_name,
                {
                    "page": "plain",
                    "form": self.get_form(),
                    "error": {
                        "code": "rate_limited",
                        "message": _("Too many attempts from your network. Please wait a moment."),
                    },
                },
                status=429,
            )
        return super().post(request, *args, **kwargs)


class ResetSentView(auth_views.PasswordResetDoneView):
    template_name = "pages/password_reset_sent.html"
    extra_context = {"page": "plain"}


class ResetConfirmView(auth_views.PasswordResetConfirmView):
    http_method_names = ["get", "post"]
    form_class = PlayerSetPasswordForm
    template_name = "pages/password_reset_confirm.html"
    success_url = reverse_lazy("password-reset-complete")
    post_reset_login = False
    extra_context = {"page": "plain"}


class ResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "pages/password_reset_complete.html"
    extra_context = {"page": "plain"}
