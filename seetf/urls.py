from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import views as accounts_views
from seetf import health, web
from seetf.common.csp import csp_report

api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("partners.api.urls")),
    path("", include("grants.api.urls")),
    path("", include("results.api.urls")),
    path("", include("iati.urls")),
    path("", include("analytics.api")),
    path("", include("brokering.api.urls")),
    path("", include("documents.api")),
    path("", include("collaboration.api.urls")),
]

urlpatterns = [
    # For operators (seetf/health.py): outside the API, no login.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Browsers report Content-Security-Policy violations here (seetf/common/csp.py).
    path("csp-report/", csp_report, name="csp-report"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file of its own (no inline
    # <script>), so the docs page passes the site's Content-Security-Policy unrelaxed;
    # templates/drf_spectacular/swagger_ui.html moves its inline <style> to a stylesheet.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include(api_v1)),
    # The web pages (server-rendered, on the same services as the API).
    path("", web.home, name="home"),
    # The language switcher (accounts.views.set_language) and the scripts' catalogue.
    path("i18n/setlang/", accounts_views.set_language, name="set_language"),
    path("i18n/js/<str:language>/", web.javascript_catalog, name="javascript-catalog"),
    path("login/", web.LoginView.as_view(), name="login"),
    path("logout/", web.LogoutView.as_view(), name="logout"),
    path("password/", web.PasswordChangeView.as_view(), name="password_change"),
    path("", include("accounts.web_urls")),
    path("grants/", include("grants.web_urls")),
    path("", include("partners.web_urls")),
    path("", include("results.web_urls")),
    path("", include("iati.web_urls")),
    path("", include("analytics.web_urls")),
    path("", include("portability.web_urls")),
    path("", include("brokering.web_urls")),
    path("", include("documents.web_urls")),
    path("", include("collaboration.web_urls")),
]

handler400 = "seetf.web.bad_request"
handler403 = "seetf.web.permission_denied"
handler404 = "seetf.web.page_not_found"
handler500 = "seetf.web.server_error"
