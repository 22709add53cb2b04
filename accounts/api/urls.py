from django.urls import path

from .views import LoginRecordViewSet, ObtainTokenView, RevokeTokenView, TokenViewSet

urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="auth-token"),
    path("auth/token/revoke/", RevokeTokenView.as_view(), name="auth-token-revoke"),
    path("auth/tokens/", TokenViewSet.as_view({"get": "list"}), name="auth-token-list"),
    path("auth/logins/", LoginRecordViewSet.as_view({"get": "list"}), name="auth-login-list"),
]
