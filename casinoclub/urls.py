from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from .dashboard import DashboardView
from .errors import api_not_found
from .health import health
from .ops.views import prometheus_metrics

urlpatterns = [
    path("", include("casinoclub.pages.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    path("api/", include("accounts.urls")),
    path("api/games/", include("games.urls")),
    path("api/shop/", include("shop.urls")),
    path("api/admin/", include("shop.admin_api_urls")),
    path("api/dashboard", DashboardView.as_view(), name="dashboard"),
    path("api/events/", include("events.urls")),
    path("api/public/", include("events.public_urls")),
    path("api/", include("gamification.urls")),
    path("api/", include("liveops.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI loads its start-up script from ?script (no inline script); its page keeps one
    # small inline <style> block, so only this page allows inline styles.
    path(
        "api/docs/",
        csp_update({"style-src": [UNSAFE_INLINE]})(
            SpectacularSwaggerSplitView.as_view(url_name="schema")
        ),
        name="swagger-ui",
    ),
    path("api/telemetry/", include("casinoclub.telemetry.urls")),
    path("api/metrics/", include("casinoclub.ops.urls")),
    path("health", health, name="health"),
    path("metrics", prometheus_metrics, name="prometheus-django-metrics"),
    # Last: any other /api/ path answers the JSON envelope, whatever DEBUG says.
    re_path(r"^api/(?P<path>.*)$", api_not_found, name="api-not-found"),
]

handler400 = "casinoclub.errors.bad_request"
handler403 = "casinoclub.errors.permission_denied"
handler404 = "casinoclub.errors.page_not_found"
handler500 = "casinoclub.errors.server_error"
