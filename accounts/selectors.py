"""What each user may read of signing in: fund managers the whole login log; everyone
their own API tokens."""

from rest_framework.authtoken.models import Token

from partners.roles import is_fund_manager

from .models import LoginRecord


def logins_visible_to(user):
    if is_fund_manager(user):
        return LoginRecord.objects.select_related("user")
    return LoginRecord.objects.none()


def tokens_visible_to(user):
    if not user or not user.is_authenticated:
        return Token.objects.none()
    return Token.objects.filter(user=user).order_by("created")
