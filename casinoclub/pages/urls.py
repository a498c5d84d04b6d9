from django.urls import path

from . import password_reset, views

urlpatterns = [
    path("", views.home, name="home"),
    path("signup/", views.signup, name="signup"),
    path("login/", views.login_page, name="login"),
    path("logout/", views.logout_page, name="logout"),
    path("birth-date/", views.birth_date_page, name="birth-date"),
    path("play/slot/", views.slot, name="play-slot"),
    path("play/crash/", views.crash, name="play-crash"),
    path("play/crash/rounds/<int:crash_round_id>/", views.crash_round, name="play-crash-round"),
    path("play/gacha/", views.gacha, name="play-gacha"),
    path("play/rps/", views.rps, name="play-rps"),
    path("shop/", views.shop, name="shop"),
    path("shop/receipts/<str:receipt>/", views.receipt, name="shop-receipt"),
    path("events/", views.events, name="events"),
    path("achievements/", views.achievements, name="achievements"),
    path("history/", views.history, name="history"),
    path("profile/", views.profile, name="profile"),
    path("notifications/", views.notifications, name="notifications"),
    path("inventory/", views.inventory, name="inventory"),
    path("verify/", views.verify, name="verify"),
    path("odds/", views.odds, name="odds"),
    path("account/", views.account_page, name="account"),
    path("email/verify/<str:token>/", views.email_verify_page, name="email-verify"),
    path("password-reset/", password_reset.ResetRequestView.as_view(), name="password-reset"),
    path(
        "password-reset/sent/",
        password_reset.ResetSentView.as_view(),
        name="password-reset-sent",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        password_reset.ResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path(
        "password-reset/done/",
        password_reset.ResetCompleteView.as_view(),
        name="password-reset-complete",
    ),
]
