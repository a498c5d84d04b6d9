"""Staff API routes the shop serves outside /api/shop/ (paths kept from the original product)."""

from django.urls import path

from shop import views

urlpatterns = [path("stats", views.AdminStatsView.as_view(), name="admin-stats")]
