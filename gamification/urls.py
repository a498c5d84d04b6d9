from django.urls import path

from gamification import views

urlpatterns = [
    path("streak/status", views.StreakStatusView.as_view(), name="streak-status"),
    path("streak/preview", views.StreakPreviewView.as_view(), name="streak-preview"),
    path("streak/claim", views.StreakClaimView.as_view(), name="streak-claim"),
    path("streak/history", views.StreakHistoryView.as_view(), name="streak-history"),
    path("vip/status", views.VipStatusView.as_view(), name="vip-status"),
    path("vip/claim", views.VipClaimView.as_view(), name="vip-claim"),
    path("achievements/", views.AchievementListView.as_view(), name="achievements-list"),
    path("achievements/me", views.AchievementMeView.as_view(), name="achievements-me"),
    path("battle-pass", views.BattlePassView.as_view(), name="battle-pass"),
    path("battle-pass/claim", views.BattlePassClaimView.as_view(), name="battle-pass-claim"),
]
