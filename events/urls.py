from django.urls import path

from events import views

urlpatterns = [
    path("", views.EventListView.as_view(), name="events-list"),
    path("<int:event_id>", views.EventDetailView.as_view(), name="events-detail"),
    path("join", views.EventJoinView.as_view(), name="events-join"),
    path("claim/<int:event_id>", views.EventClaimView.as_view(), name="events-claim"),
    path("missions/<str:period>", views.MissionListView.as_view(), name="events-missions"),
    path(
        "missions/claim/<int:mission_id>",
        views.MissionClaimView.as_view(),
        name="events-missions-claim",
    ),
]
