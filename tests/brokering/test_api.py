"""Offers, requests and the match through the API: fields, bad input (400, nothing
written), the match that becomes a draft grant, and what each role may do."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from brokering.models import ExchangeRequest, Match, Offer
from grants.models import Exchange, Grant

from .factories import make_offer, make_request

pytestmark = pytest.mark.django_db


def offer_body(**overrides):
    body = {
        "title": "Land registration: Rwanda's cadastre",
        "description": "How Rwanda registered *every* parcel in five years.",
        "provider_country": "RWA",
        "institution": "Rwanda Land Management Authority",
        "sectors": ["31120"],
        "instruments": ["study_tour", "expert_visit"],
        "languages": ["en", "fr", "rw"],
        "capacity_per_year": 2,
        "contact_name": "Jean Uwimana",
        "contact_email": "jean@example.org",
    }
    body.update(overrides)
    return body


def request_body(**overrides):
    body = {
        "title": "Land titling for Mozambique",
        "description": "Mozambique wants to learn how to register land parcels.",
        "recipient_country": "MOZ",
        "sectors": ["31120"],
        "instruments": ["study_tour"],
        "languages": ["pt", "en"],
        "needed_by": str(timezone.localdate() + timedelta(days=90)),
        "endorsed_on": str(timezone.localdate() - timedelta(days=3)),
    }
    body.update(overrides)
    return body


def counts():
    return (
        Offer.objects.count(),
        ExchangeRequest.objects.count(),
        Match.objects.count(),
        Grant.objects.count(),
        AuditEntry.objects.count(),
    )


# --- Offers ---------------------------------------------------------------------------


def test_a_leader_drafts_and_publishes_an_offer_the_public_reads_without_contacts(client_for, anon):
    leader = client_for("leader")
    response = leader.post("/api/v1/offers/", offer_body(), format="json")
    assert response.status_code == 201, response.content
    offer = response.json()
    assert offer["status"] == "draft"
    assert offer["languages"] == ["en", "fr", "rw"]
    assert offer["capacity_left"] == 2
    assert "<em>every</em>" in offer["description_html"]
    assert anon.get(f"/api/v1/offers/{offer['id']}/").status_code == 404  # a draft
    published = leader.post(f"/api/v1/offers/{offer['id']}/publish/", {}, format="json")
    assert published.status_code == 200 and published.json()["status"] == "published"
    public = anon.get(f"/api/v1/offers/{offer['id']}/").json()
    assert "contact_email" not in public and "contact_name" not in public
    assert public["title"] == offer["title"]
    listed = anon.get("/api/v1/offers/").json()
    assert listed["count"] == 1 and "contact_email" not in listed["results"][0]
    donor = client_for("donor").get(f"/api/v1/offers/{offer['id']}/").json()
    assert donor["contact_email"] == "jean@example.org"
    actions = list(
        AuditEntry.objects.filter(content_type__model="offer", object_id=str(offer["id"]))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["offer.create", "offer.publish"]


def test_offer_transitions(client_for, leader):
    offer = make_offer(leader, status="published")
    client = client_for("leader")
    again = client.post(f"/api/v1/offers/{offer.pk}/publish/", {}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    withdrawn = client.post(
        f"/api/v1/offers/{offer.pk}/withdraw/", {"reason": "Full"}, format="json"
    )
    assert withdrawn.json()["status"] == "withdrawn"
    entry = AuditEntry.objects.get(action="offer.withdraw")
    assert entry.changes == {"status": ["published", "withdrawn"]} and entry.reason == "Full"


@pytest.mark.parametrize(
    "overrides, field",
    [
        pytest.param({"languages": ["en", "xx"]}, "languages", id="unknown-language"),
        pytest.param({"languages": ["EN"]}, "languages", id="upper-case-language"),
        pytest.param({"languages": ["eng"]}, "languages", id="three-letters"),
        pytest.param({"languages": []}, "languages", id="no-language"),
        pytest.param(
            {"description": "Hello <script>alert(1)</script>"}, "description", id="html-script"
        ),
        pytest.param({"description": "<b>bold</b>"}, "description", id="html-tag"),
        pytest.param({"description": "x <!-- c -->"}, "description", id="html-comment"),
        pytest.param({"title": "<img src=x onerror=alert(1)>"}, "title", id="html-title"),
        pytest.param({"instruments": ["teleport"]}, "instruments", id="unknown-instrument"),
        pytest.param({"instruments": []}, "instruments", id="no-instrument"),
        pytest.param({"sectors": []}, "sectors", id="no-sector"),
        pytest.param({"sectors": ["99999"]}, "sectors", id="unknown-sector"),
        pytest.param({"provider_country": "XXX"}, "provider_country", id="unknown-country"),
        pytest.param({"capacity_per_year": 0}, "capacity_per_year", id="no-capacity"),
        pytest.param({"contact_email": "not-an-email"}, "contact_email", id="bad-email"),
    ],
)
def test_a_bad_offer_is_a_400_and_writes_nothing(client_for, overrides, field):
    client = client_for("leader")  # made first: a new user is an audit entry
    before = counts()
    response = client.post("/api/v1/offers/", offer_body(**overrides), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert counts() == before


def test_markdown_in_a_description_is_rendered_and_sanitised(client_for):
    body = offer_body(description="A [link](javascript:alert(1)) and a < b.")
    offer = client_for("leader").post("/api/v1/offers/", body, format="json").json()
    assert "javascript" not in offer["description_html"]
    assert "a &lt; b" in offer["description_html"]


def test_offer_filters(client_for, leader, anon):
    rwa = make_offer(
        leader,
        provider_country="RWA",
        sectors=["31120"],
        languages=["fr"],
        instruments=["workshop"],
        title="Cadastre",
    )
    mex = make_offer(leader, title="Social registry")
    for query, expected in [
        ("?provider_country=RWA", [rwa]),
        ("?sector=16010", [mex]),
        ("?category=311", [rwa]),
        ("?language=fr", [rwa]),
        ("?language=es", [mex]),
        ("?instrument=workshop", [rwa]),
        ("?search=registry", [mex]),
        ("?search=cadastre", [rwa]),
        ("?search=secretar%C3%ADa", [rwa, mex]),  # the institution
    ]:
        body = anon.get(f"/api/v1/offers/{query}").json()
        assert [o["id"] for o in body["results"]] == [o.pk for o in expected], query
    for bad in ("?language=zz", "?category=31", "?instrument=x", "?provider_country=QQQ"):
        assert anon.get(f"/api/v1/offers/{bad}").status_code == 400, bad


# --- Requests -------------------------------------------------------------------------


def test_a_leader_enters_a_request(client_for, leader):
    response = client_for("leader").post("/api/v1/requests/", request_body(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "open" and body["requested_by"] == leader.username
    assert body["matched_grant"] is None
    assert AuditEntry.objects.filter(action="request.create", object_id=str(body["id"])).exists()


@pytest.mark.parametrize(
    "overrides, field",
    [
        pytest.param(
            {"needed_by": str(timezone.localdate() - timedelta(days=1))}, "needed_by", id="past"
        ),
        pytest.param(
            {"endorsed_on": str(timezone.localdate() + timedelta(days=1))},
            "endorsed_on",
            id="future-endorsement",
        ),
        pytest.param({"languages": ["klingon"]}, "languages", id="unknown-language"),
        pytest.param({"description": "<iframe src=x></iframe>"}, "description", id="html"),
        pytest.param({"recipient_country": "ZZZ"}, "recipient_country", id="unknown-country"),
        pytest.param({"needed_by": "2026-13-40"}, "needed_by", id="bad-date"),
    ],
)
def test_a_bad_request_is_a_400_and_writes_nothing(client_for, overrides, field):
    client = client_for("leader")  # made first: a new user is an audit entry
    before = counts()
    response = client.post("/api/v1/requests/", request_body(**overrides), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert counts() == before


def test_a_request_is_edited_while_open_only(client_for, leader):
    request = make_request(leader)
    client = client_for("leader")
    edited = client.patch(f"/api/v1/requests/{request.pk}/", {"title": "New"}, format="json")
    assert edited.status_code == 200 and edited.json()["title"] == "New"
    closed = client.post(f"/api/v1/requests/{request.pk}/close/", {}, format="json")
    assert closed.json()["status"] == "closed"
    again = client.patch(f"/api/v1/requests/{request.pk}/", {"title": "Again"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"


# --- The match ------------------------------------------------------------------------


def test_a_match_makes_a_draft_grant_from_both_sides(client_for, leader, fund_manager):
    offer = make_offer(
        leader2_or(fund_manager), instruments=["study_tour", "videoconference", "workshop"]
    )
    request = make_request(
        leader,
        instruments=["videoconference", "study_tour", "conference"],
        endorsed_on=timezone.localdate(),
    )
    response = client_for("leader").post(
        f"/api/v1/requests/{request.pk}/match/", {"offer": offer.pk}, format="json"
    )
    assert response.status_code == 201, response.content
    grant = Grant.objects.get(pk=response.json()["grant"])
    assert response.json() == {"grant": grant.pk, "request": request.pk, "offer": offer.pk}
    assert grant.status == "draft" and grant.task_team_leader == leader
    assert [c.code for c in grant.recipient_countries.all()] == ["HND"]
    assert [c.code for c in grant.provider_countries.all()] == ["MEX"]
    assert grant.sector_id == "16010" and grant.region == "LCR"
    assert grant.recipient_endorsed_on == request.endorsed_on
    planned = sorted(Exchange.objects.filter(grant=grant).values_list("instrument", flat=True))
    assert planned == ["study_tour", "videoconference"]  # what both want
    request.refresh_from_db()
    assert request.status == "matched"
    detail = client_for("leader").get(f"/api/v1/grants/{grant.pk}/").json()
    assert detail["brokered_request"] == request.pk and detail["brokered_offer"] == offer.pk
    assert client_for("leader").get(f"/api/v1/offers/{offer.pk}/").json()["capacity_left"] == 2
    entry = AuditEntry.objects.get(action="request.match")
    assert entry.changes["status"] == ["open", "matched"]
    assert entry.changes["grant"] == [None, grant.pk]
    again = client_for("leader").post(
        f"/api/v1/requests/{request.pk}/match/", {"offer": offer.pk}, format="json"
    )
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"


def leader2_or(user):
    return user


@pytest.mark.parametrize("case", ["own-country", "withdrawn", "draft", "missing", "not-a-number"])
def test_a_bad_match_is_a_400_and_writes_nothing(client_for, leader, case):
    request = make_request(leader)
    offer_id = {
        "own-country": lambda: make_offer(leader, provider_country="HND").pk,
        "withdrawn": lambda: make_offer(leader, status="withdrawn").pk,
        "draft": lambda: make_offer(leader, status="draft").pk,
        "missing": lambda: 987654,
        "not-a-number": lambda: "abc",
    }[case]()
    client = client_for("leader")  # made first: a new user is an audit entry
    before = counts()
    response = client.post(
        f"/api/v1/requests/{request.pk}/match/", {"offer": offer_id}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "offer" in response.json()
    assert counts() == before
    request.refresh_from_db()
    assert request.status == "open"


def test_a_leader_cannot_match_with_an_offer_they_cannot_see(client_for, leader, leader2):
    hidden = make_offer(leader2, status="draft")
    request = make_request(leader)
    response = client_for("leader").post(
        f"/api/v1/requests/{request.pk}/match/", {"offer": hidden.pk}, format="json"
    )
    assert response.status_code == 400


# --- Who may do what -------------------------------------------------------------------

ROLES = ["fund_manager", "task_team_leader", "other_leader", "donor", "no_role", "anonymous"]


@pytest.fixture
def objects(leader):
    return {
        "published": make_offer(leader),
        "draft": make_offer(leader, status="draft", title="Draft offer"),
        "request": make_request(leader),
    }


READS = {
    # (path, role): status
    "offers list": ("/api/v1/offers/", dict.fromkeys(ROLES, 200)),
    "published offer": (
        "/api/v1/offers/{published}/",
        dict.fromkeys(ROLES, 200),
    ),
    "draft offer": (
        "/api/v1/offers/{draft}/",
        {
            "fund_manager": 200,
            "task_team_leader": 200,
            "other_leader": 404,
            "donor": 404,
            "no_role": 404,
            "anonymous": 404,
        },
    ),
    "requests list": (
        "/api/v1/requests/",
        {**dict.fromkeys(ROLES, 200), "no_role": 403, "anonymous": 401},
    ),
    "request": (
        "/api/v1/requests/{request}/",
        {**dict.fromkeys(ROLES, 200), "no_role": 403, "anonymous": 401},
    ),
    "suggestions": (
        "/api/v1/requests/{request}/suggestions/",
        {**dict.fromkeys(ROLES, 200), "no_role": 403, "anonymous": 401},
    ),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", list(READS))
def test_who_reads_what(objects, client_for, role, name):
    path, expected = READS[name]
    url = path.format(**{k: v.pk for k, v in objects.items()})
    response = client_for(role).get(url)
    assert response.status_code == expected[role], (name, role, response.content)
    if response.status_code == 200 and "offer" in name and "list" not in name:
        assert ("contact_email" in response.json()) == (role not in ("anonymous", "no_role"))


WRITES = {
    # name: (method, path, body, {role: status})
    "create offer": (
        "post",
        "/api/v1/offers/",
        offer_body,
        {
            "fund_manager": 201,
            "task_team_leader": 201,
            "other_leader": 201,
            "donor": 403,
            "no_role": 403,
            "anonymous": 401,
        },
    ),
    "edit own offer": (
        "patch",
        "/api/v1/offers/{published}/",
        lambda: {"title": "Edited"},
        {
            "fund_manager": 200,
            "task_team_leader": 200,
            "other_leader": 403,
            "donor": 403,
            "no_role": 403,
            "anonymous": 401,
        },
    ),
    "publish draft": (
        "post",
        "/api/v1/offers/{draft}/publish/",
        dict,
        {
            "fund_manager": 200,
            "task_team_leader": 200,
            "other_leader": 404,
            "donor": 404,
            "no_role": 404,
            "anonymous": 401,
        },
    ),
    "withdraw published": (
        "post",
        "/api/v1/offers/{published}/withdraw/",
        dict,
        {
            "fund_manager": 200,
            "task_team_leader": 200,
            "other_leader": 403,
            "donor": 403,
            "no_role": 403,
            "anonymous": 401,
        },
    ),
    "create request": (
        "post",
        "/api/v1/requests/",
        request_body,
        {
            "fund_manager": 201,
            "task_team_leader": 201,
            "other_leader": 201,
            "donor": 403,
            "no_role": 403,
            "anonymous": 401,
        },
    ),
    "edit request": (
        "patch",
        "/api/v1/requests/{request}/",
        lambda: {"title": "Edited"},
        {
            "fund_manager": 200,
            "task_team_leader": 200,
            "other_leader": 403,
            "donor": 403,
            "no_role": 403,
            "anonymous": 401,
        },
    ),
    "close request": (
        "post",
        "/api/v1/requests/{request}/close/",
        dict,
        {
            "fund_manager": 200,
            "task_team_leader": 200,
            "other_leader": 403,
            "donor": 403,
            "no_role": 403,
            "anonymous": 401,
        },
    ),
    "match": (
        "post",
        "/api/v1/requests/{request}/match/",
        None,
        {
            "fund_manager": 201,
            "task_team_leader": 201,
            "other_leader": 403,
            "donor": 403,
            "no_role": 403,
            "anonymous": 401,
        },
    ),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", list(WRITES))
def test_who_writes_what(objects, client_for, role, name):
    method, path, body, expected = WRITES[name]
    url = path.format(**{k: v.pk for k, v in objects.items()})
    data = {"offer": objects["published"].pk} if body is None else body()
    client = client_for(role)  # made first: a new user is an audit entry
    before = counts()
    response = getattr(client, method)(url, data, format="json")
    assert response.status_code == expected[role], (name, role, response.content)
    if response.status_code >= 400:
        assert counts() == before
        if response.status_code == 403:
            assert response.json()["code"] == "permission_denied"


def test_the_offers_rows_give_byte_for_byte_what_the_serializers_give(leader):
    """The catalogue and the suggestions represent offers from rows (OFFER_ROWS,
    PUBLIC_OFFER_ROWS); the ModelSerializers over model instances give the same bytes:
    drafts and withdrawn offers, several sectors, Markdown, capacity used by a match."""
    from rest_framework.renderers import JSONRenderer

    from brokering import selectors, services
    from brokering.api.serializers import (
        OFFER_ROWS,
        PUBLIC_OFFER_ROWS,
        OfferSerializer,
        PublicOfferSerializer,
    )

    used = make_offer(leader, sectors=["16010", "16020", "15110"], capacity_per_year=1)
    make_offer(leader, status="draft", description="A *draft* with [a link](https://x.org).")
    make_offer(leader, status="withdrawn", provider_country="BRA", languages=["pt"])
    services.request_match(request=make_request(leader), offer=used, user=leader)
    offers = selectors.with_capacity(Offer.objects.all()).order_by("id")
    instances = list(offers.select_related("provider_country").prefetch_related("sectors"))
    render = JSONRenderer().render
    for rows, serializer in (
        (OFFER_ROWS, OfferSerializer),
        (PUBLIC_OFFER_ROWS, PublicOfferSerializer),
    ):
        expected = render(serializer(instances, many=True).data)
        assert render(rows.represent(rows.read(offers))) == expected
    assert b'"capacity_left":0' in expected and b"<em>draft</em>" in expected
