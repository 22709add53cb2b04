from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from partners.api.views import ObtainTokenView

api_v1 = [
    path("auth/token/", ObtainTokenView.as_view(), name="auth-token"),
    path("", include("partners.api.urls")),
    path("", include("grants.api.urls")),
    path("", include("results.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include(api_v1)),
]
