"""The grant page's participant feedback panel and its "open a link" form: who sees the
button, who may post it (403 for others who see the grant, 404 for those who do not),
an exchange that cannot have participants (the reason, on the grant page)."""

import pytest

from grants.models import ExchangeStatus, GrantStatus
from results.models import FeedbackLink
from tests.grants.factories import make_exchange, make_grant
from tests.web.pages import page

pytestmark = pytest.mark.django_db


@pytest.fixture
def grant(funded, leader, fund_manager):
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    held = make_exchange(grant, fund_manager, title="Held", status=ExchangeStatus.HELD)
    cancelled = make_exchange(grant, fund_manager, title="Off", status=ExchangeStatus.CANCELLED)
    return {"grant": grant, "held": held, "cancelled": cancelled}


def _open(client, grant, exchange, **extra):
    url = f"/grants/{grant.pk}/exchanges/{exchange.pk}/feedback-link/"
    return client.post(url, {"days": "10"}, **extra)


@pytest.mark.parametrize(
    "who, button, status",
    [
        ("leader", True, 200),
        ("fund_manager", True, 200),
        ("donor", False, 403),
        ("other_leader", False, 403),
        ("no_role", False, 404),
    ],
)
def test_who_opens_a_link_from_the_grant_page(web, grant, who, button, status):
    client = web(who)
    shown = client.get(f"/grants/{grant['grant'].pk}/")
    if status == 404:
        assert shown.status_code == 404
    else:
        panel = page(shown).testid("feedback-panel")
        # One button, for the held exchange; none for the cancelled one.
        assert len(panel.find_all(data_testid="open-feedback-link")) == (1 if button else 0)
    response = _open(client, grant["grant"], grant["held"])
    assert response.status_code == status
    assert FeedbackLink.objects.count() == (1 if status == 200 else 0)
    if status == 200:
        url = page(response).testid("feedback-link-url").text
        assert "/feedback/" in url and len(url.rsplit("/", 2)[-2]) >= 43


def test_a_cancelled_exchange_gets_no_link_and_the_page_says_why(web, grant):
    response = _open(web("leader"), grant["grant"], grant["cancelled"], follow=True)
    assert response.status_code == 200
    assert "A cancelled exchange has no participants to ask." in response.content.decode()
    assert not FeedbackLink.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in(web, grant):
    response = _open(web(), grant["grant"], grant["held"])
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert not FeedbackLink.objects.exists()
