from django.urls import path

from . import views

urlpatterns = [
    path("auth/signup", views.SignupView.as_view(), name="auth-signup"),
    path("auth/login", views.LoginView.as_view(), name="auth-login"),
    path("auth/refresh", views.RefreshView.as_view(), name="auth-refresh"),
    path("auth/logout", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/logout-all", views.LogoutAllView.as_view(), name="auth-logout-all"),
    path("auth/password", views.PasswordChangeView.as_view(), name="auth-password"),
    path("auth/password-reset", views.PasswordResetView.as_view(), name="auth-password-reset"),
    path(
        "auth/password-reset/confirm",
        views.PasswordResetConfirmView.as_view(),
        name="auth-password-reset-confirm",
    ),
    path("users/me/email", views.EmailView.as_view(), name="users-me-email"),
    path("users/me/email/resend", views.EmailResendView.as_view(), name="users-me-email-resend"),
    path("users/email/verify", views.EmailVerifyView.as_view(), name="users-email-verify"),
    path("users/me/refill", views.RefillView.as_view(), name="users-me-refill"),
    path("users/me/export", views.ExportView.as_view(), name="users-me-export"),
    path("users/me/delete", views.AccountDeletionView.as_view(), name="users-me-delete"),
    path("invite/validate", views.InviteValidateView.as_view(), name="invite-validate"),
    path("users/me", views.MeView.as_view(), name="users-me"),
    path("users/me/birth-date", views.BirthDateView.as_view(), name="users-me-birth-date"),
    path("users/me/items", views.ItemsView.as_view(), name="users-me-items"),
    path("users/me/items/equip", views.ItemEquipView.as_view(), name="users-me-items-equip"),
    path("users/me/items/unequip", views.ItemUnequipView.as_view(), name="users-me-items-unequip"),
    path("responsible-play", views.ResponsiblePlayView.as_view(), name="responsible-play"),
    path(
        "responsible-play/purchase-limit",
        views.PurchaseLimitView.as_view(),
        name="responsible-play-purchase-limit",
    ),
    path(
        "responsible-play/cool-off", views.CoolOffView.as_view(), name="responsible-play-cool-off"
    ),
    path(
        "responsible-play/self-exclusion",
        views.SelfExclusionView.as_view(),
        name="responsible-play-self-exclusion",
    ),
    path("users/<int:user_id>", views.UserPublicView.as_view(), name="users-public"),
    path(
        "admin/users/<int:user_id>/gold",
        views.StaffGoldAdjustView.as_view(),
        name="admin-users-gold",
    ),
]
