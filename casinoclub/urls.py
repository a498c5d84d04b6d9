from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from .health import health

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("admin/", admin.site.urls),
    path("api/", include("accounts.urls")),
    path("api/games/", include("games.urls")),
    path("api/shop/", include("shop.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("health", health, name="health"),
    path("", include("django_prometheus.urls")),
]

handler400 = "casinoclub.errors.bad_request"
handler403 = "casinoclub.errors.permission_denied"
handler404 = "casinoclub.errors.page_not_found"
handler500 = "casinoclub.errors.server_error"
