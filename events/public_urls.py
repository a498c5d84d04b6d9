from django.urls import path

from events import views

urlpatterns = [
    path("events", views.PublicEventListView.as_view(), name="public-events"),
]
