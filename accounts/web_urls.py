"""Web pages of signing in: the second factor (under /login/, reached before it is given),
one's account, and the login log."""

from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("login/two-factor/", views.two_factor, name="two-factor"),
    path("login/two-factor/setup/", views.two_factor_setup, name="two-factor-setup"),
    path("login/two-factor/setup/qr.svg", views.two_factor_qr, name="two-factor-qr"),
    path("account/", views.account, name="account"),
    path("account/recovery-codes/", views.recovery_codes, name="recovery-codes"),
    path("logins/", views.logins, name="logins"),
    path("logins/reset-two-factor/", views.two_factor_reset, name="two-factor-reset"),
    path("users/<str:username>/", views.user_detail, name="user"),
    path("users/<str:username>/unlock/", views.user_unlock, name="user-unlock"),
]
