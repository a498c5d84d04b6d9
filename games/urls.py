from django.urls import path

from games import views

urlpatterns = [
    path("slot/spin", views.SlotSpinView.as_view(), name="games-slot-spin"),
    path("rps/play", views.RpsPlayView.as_view(), name="games-rps-play"),
    path("gacha/pull", views.GachaPullView.as_view(), name="games-gacha-pull"),
    path("gacha/config", views.GachaConfigView.as_view(), name="games-gacha-config"),
    path("gacha/inventory", views.GachaInventoryView.as_view(), name="games-gacha-inventory"),
    path("crash/bet", views.CrashBetView.as_view(), name="games-crash-bet"),
    path("crash/cashout", views.CrashCashoutView.as_view(), name="games-crash-cashout"),
    path("crash/state", views.CrashStateView.as_view(), name="games-crash-state"),
    path(
        "crash/rounds/<int:crash_round_id>",
        views.CrashRoundView.as_view(),
        name="games-crash-round",
    ),
    path("fairness", views.FairnessView.as_view(), name="games-fairness"),
    path("fairness/rotate", views.FairnessRotateView.as_view(), name="games-fairness-rotate"),
    path(
        "rounds/<int:round_id>/verify", views.RoundVerifyView.as_view(), name="games-round-verify"
    ),
    path("limits", views.PlayLimitsView.as_view(), name="games-limits"),
    path("stats/me", views.StatsMeView.as_view(), name="games-stats-me"),
    path("history", views.HistoryView.as_view(), name="games-history"),
    path("leaderboard", views.LeaderboardView.as_view(), name="games-leaderboard"),
    path("<str:game>/odds", views.OddsView.as_view(), name="games-odds"),
]
