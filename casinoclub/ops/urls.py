from django.urls import path

from . import views

urlpatterns = [
    path("global", views.GlobalMetricsView.as_view(), name="metrics-global"),
    path("stream", views.metrics_stream, name="metrics-stream"),
]
