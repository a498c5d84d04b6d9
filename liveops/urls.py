from django.urls import path

from liveops import views

urlpatterns = [
    path("notifications", views.NotificationListView.as_view(), name="notifications-list"),
    path(
        "notifications/read-all",
        views.NotificationsReadAllView.as_view(),
        name="notifications-read-all",
    ),
    path(
        "notifications/preferences",
        views.NotificationPreferencesView.as_view(),
        name="notifications-preferences",
    ),
    path(
        "notifications/<int:notification_id>/read",
        views.NotificationReadView.as_view(),
        name="notification-read",
    ),
    path(
        "notifications/<int:notification_id>/claim",
        views.NotificationClaimView.as_view(),
        name="notification-claim",
    ),
]
