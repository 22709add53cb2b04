"""The API's filter backend (seetf.common.filters.NamedFiltersBackend, the default of
REST_FRAMEWORK) answers as django-filter's own: with a filter named, with several, with
none (when it builds no FilterSet at all) and with a bad value; the browsable API's form
still shows every filter. (The knowledge hub's searches: tests/perf/test_prepared.py;
every list with random parameters: tests/test_api_fuzz.py.)"""

import pytest
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.filters import OrderingFilter
from rest_framework.settings import api_settings

from brokering.api.views import OfferViewSet
from collaboration.api.views import NotificationViewSet
from partners.api.views import ContributionViewSet
from seetf.common.filters import NamedFiltersBackend
from tests.conftest import api_client

pytestmark = pytest.mark.django_db


def test_it_is_the_default():
    assert api_settings.DEFAULT_FILTER_BACKENDS == [NamedFiltersBackend, OrderingFilter]


@pytest.mark.parametrize(
    "view, url",
    [
        (NotificationViewSet, "/api/v1/notifications/"),
        (NotificationViewSet, "/api/v1/notifications/?unread=true"),
        (NotificationViewSet, "/api/v1/notifications/?kind=mention&unread=false"),
        (NotificationViewSet, "/api/v1/notifications/?kind=nothing"),
        (OfferViewSet, "/api/v1/offers/?search=water&language=en"),
        (OfferViewSet, "/api/v1/offers/?language=xx-not"),
        (OfferViewSet, "/api/v1/offers/?sector=31120&status=published"),
        (ContributionViewSet, "/api/v1/contributions/"),
        (ContributionViewSet, "/api/v1/contributions/?currency=usd"),
    ],
)
def test_named_filters_answer_as_django_filter(fund_manager, view, url):
    client = api_client(fund_manager)
    named = client.get(url)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            view,
            "filter_backends",
            [DjangoFilterBackend if b is NamedFiltersBackend else b for b in view.filter_backends],
        )
        plain = client.get(url)
    assert (named.status_code, named.content) == (plain.status_code, plain.content)


def test_the_browsable_form_shows_every_filter(fund_manager):
    page = api_client(fund_manager).get(
        "/api/v1/notifications/?kind=mention", HTTP_ACCEPT="text/html"
    )
    assert page.status_code == 200
    assert 'name="unread"' in page.content.decode() and 'name="kind"' in page.content.decode()
