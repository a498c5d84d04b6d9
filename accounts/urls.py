from django.urls import path

from . import views

urlpatterns = [
    path("auth/signup", views.SignupView.as_view(), name="auth-signup"),
    path("auth/login", views.LoginView.as_view(), name="auth-login"),
    path("auth/refresh", views.RefreshView.as_view(), name="auth-refresh"),
    path("auth/logout", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/logout-all", views.LogoutAllView.as_view(), name="auth-logout-all"),
    path("auth/password", views.PasswordChangeView.as_view(), name="auth-password"),
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
