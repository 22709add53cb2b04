"""The brokering pages: the public catalogue, a leader's request and its suggestions,
the accept button that makes the draft grant, the fund managers' open requests."""

from datetime import timedelta

import pytest
from django.utils import timezone

from brokering.models import ExchangeRequest, Match
from grants.models import Grant

from .factories import make_offer, make_request

pytestmark = pytest.mark.django_db


def test_the_public_catalogue_shows_published_offers_without_contacts(web, leader):
    published = make_offer(leader, title="Prospera's lessons")
    make_offer(leader, status="draft", title="A hidden draft")
    page = web().get("/offers/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Prospera&#x27;s lessons" in html or "Prospera's lessons" in html
    assert "A hidden draft" not in html
    assert published.contact_email not in html
    signed_in = web("donor").get("/offers/").content.decode()
    assert published.contact_email in signed_in


def test_the_catalogue_searches_and_filters(web, leader):
    make_offer(
        leader, title="Cadastre", provider_country="RWA", sectors=["31120"], languages=["fr"]
    )
    make_offer(leader, title="Registry")
    client = web()
    assert "Cadastre" in client.get("/offers/?language=fr").content.decode()
    assert "Registry" not in client.get("/offers/?language=fr").content.decode()
    assert "Registry" in client.get("/offers/?search=registry").content.decode()
    bad = client.get("/offers/?language=zz")
    assert bad.status_code == 200 and "Not an ISO 639-1 code" in bad.content.decode()


def test_the_hub_links_to_the_offers(web):
    assert 'href="/offers/"' in web().get("/hub/").content.decode()


def test_a_leader_requests_an_exchange_and_accepts_the_best_suggestion(web, leader, fund_manager):
    best = make_offer(fund_manager, title="Nicaragua's registry", provider_country="NIC")
    make_offer(fund_manager, title="Kenya's schemes", provider_country="KEN", sectors=["16020"])
    client = web("leader")
    assert client.get("/requests/new/").status_code == 200
    response = client.post(
        "/requests/new/",
        {
            "title": "Cash transfers for Honduras",
            "recipient_country": "HND",
            "description": "Honduras wants to learn how to target transfers.",
            "sectors": ["16010"],
            "instruments": ["study_tour"],
            "languages": "es, en",
            "needed_by": str(timezone.localdate() + timedelta(days=60)),
        },
    )
    request = ExchangeRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/requests/{request.pk}/"
    assert request.languages == ["es", "en"]
    page = client.get(f"/requests/{request.pk}/").content.decode()
    assert page.index("Nicaragua&#x27;s registry") < page.index("Kenya&#x27;s schemes")
    accepted = client.post(f"/requests/{request.pk}/match/", {"offer": best.pk})
    grant = Grant.objects.get()
    assert accepted.status_code == 302 and accepted["Location"] == f"/grants/{grant.pk}/"
    assert Match.objects.get().offer == best
    detail = client.get(f"/grants/{grant.pk}/").content.decode()
    assert "Nicaragua" in detail


def test_bad_request_input_is_shown_on_the_form_and_writes_nothing(web):
    response = web("leader").post(
        "/requests/new/",
        {
            "title": "Past",
            "recipient_country": "HND",
            "description": "<b>bold</b>",
            "sectors": ["16010"],
            "instruments": ["study_tour"],
            "languages": "xx",
            "needed_by": str(timezone.localdate() - timedelta(days=1)),
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Cannot be in the past." in html
    assert "HTML tags are not accepted" in html
    assert "Not ISO 639-1" in html
    assert not ExchangeRequest.objects.exists()


def test_a_donor_cannot_request_an_exchange(web):
    assert web("donor").get("/requests/new/").status_code == 403


def test_the_fund_managers_see_open_requests_and_how_long_they_waited(web, leader):
    old = make_request(leader, title="Old request")
    ExchangeRequest.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=12))
    make_request(leader, title="New request")
    html = web("fund_manager").get("/requests/").content.decode()
    assert html.index("Old request") < html.index("New request")
    assert '<td class="num" data-testid="request-waited">12</td>' in html


def test_an_accept_from_another_leader_is_refused(web, leader, leader2, fund_manager):
    offer = make_offer(fund_manager)
    request = make_request(leader)
    assert (
        web("other_leader").post(f"/requests/{request.pk}/match/", {"offer": offer.pk}).status_code
        == 403
    )
    assert not Match.objects.exists()


def test_an_offer_from_the_recipient_itself_is_refused_on_the_page(web, leader):
    own = make_offer(leader, provider_country="HND")
    request = make_request(leader)
    response = web("leader").post(f"/requests/{request.pk}/match/", {"offer": own.pk}, follow=True)
    assert "the recipient country itself" in response.content.decode()
    assert not Grant.objects.exists()


def test_a_leader_drafts_and_publishes_an_offer_on_the_page(web):
    client = web("leader")
    response = client.post(
        "/offers/new/",
        {
            "title": "Cadastre",
            "provider_country": "RWA",
            "institution": "RLMA",
            "description": "Every parcel.",
            "sectors": ["31120"],
            "instruments": ["study_tour"],
            "languages": "en, fr",
            "capacity_per_year": "2",
            "contact_name": "Jean",
            "contact_email": "jean@example.org",
            "publish": "1",
        },
    )
    assert response.status_code == 302
    assert "Cadastre" in web().get("/offers/").content.decode()
