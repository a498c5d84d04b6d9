from django.urls import path

from . import views

urlpatterns = [
    path("events", views.TelemetryEventsView.as_view(), name="telemetry-events"),
]
