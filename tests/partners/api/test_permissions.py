"""Every role against every partners endpoint, as API.md's role table says:

- anonymous: 401 everywhere;
- a user with no role: 403 everywhere;
- donors and task team leaders read (200) but may not write (403 ``permission_denied``);
- fund managers (and staff superusers) read and write;
- an id that does not exist: 404.
"""

import csv
import io
from decimal import Decimal

import pytest

from partners.models import Contribution, Fund, Partner, Receipt
from tests.partners.conftest import ROLES, WRITERS, database_state

pytestmark = pytest.mark.django_db

MISSING = 999999


# --- Reads -----------------------------------------------------------------------------------


def _has_code(code):
    return lambda body, w: any(row["code"] == code for row in body["results"])


READS = {
    "countries": ("/api/v1/countries/?region=LCR", _has_code("HTI")),
    "country": ("/api/v1/countries/HTI/", lambda body, w: body["region"] == "LCR"),
    "sectors": ("/api/v1/sectors/", _has_code("11110")),
    "sector": ("/api/v1/sectors/11110/", lambda body, w: body["code"] == "11110"),
    "partners": ("/api/v1/partners/", _has_code("WRLD")),
    "partner": (
        "/api/v1/partners/{partner}/",
        lambda body, w: (
            body
            == {
                "id": w["partner"].pk,
                "code": "WRLD",
                "name": "World partner",
                "kind": "multilateral",
                "country": None,
                "joined_on": "2010-01-01",
                "iati_org_ref": "",
                "iati_org_type": "",
            }
        ),
    ),
    "contributions": (
        "/api/v1/contributions/",
        lambda body, w: {row["reference"] for row in body["results"]} >= {"W-EUR", "W-USD"},
    ),
    "contribution": (
        "/api/v1/contributions/{eur}/",
        lambda body, w: (body["reference"], body["received_usd"]) == ("W-EUR", "540.00"),
    ),
    "receipts": (
        "/api/v1/contributions/{eur}/receipts/",
        lambda body, w: [row["id"] for row in body["results"]] == [w["receipt"].pk],
    ),
    "receipt": (
        "/api/v1/contributions/{eur}/receipts/{receipt}/",
        lambda body, w: (
            body
            == {
                "id": w["receipt"].pk,
                "amount": "400.00",
                "usd_amount": "540.00",
                "received_on": "2011-01-01",
                "reverses": None,
                "reason": "",
            }
        ),
    ),
    "fund": ("/api/v1/fund/", lambda body, w: body["received_usd"] == "540.00"),
    "report": (
        "/api/v1/reports/contributions/",
        lambda body, w: body["totals"]["pledged_usd"] == "6300.00",
    ),
    "report_csv": ("/api/v1/reports/contributions/?format=csv", None),
}


def _url(template, world):
    return template.format(
        partner=world["partner"].pk,
        eur=world["eur"].pk,
        usd=world["usd"].pk,
        receipt=world["receipt"].pk,
    )


def assert_forbidden(response):
    assert response.status_code == 403, response.content
    body = response.json()
    assert set(body) == {"detail", "code"}
    assert body["code"] == "permission_denied"
    assert body["detail"]


def assert_unauthenticated(response):
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(READS))
def test_reading(endpoint, role, world, client_for):
    template, check = READS[endpoint]

    response = client_for(role).get(_url(template, world))

    if role == "anonymous":
        assert_unauthenticated(response)
    elif role == "no_role":
        assert response.status_code == 403
        if endpoint != "report_csv":
            assert_forbidden(response)
    else:
        assert response.status_code == 200, response.content
        if check is None:  # the CSV report
            assert response["Content-Type"].startswith("text/csv")
            assert b"WRLD" in response.content
        else:
            assert check(response.json(), world)


def test_the_csv_report_refuses_with_the_reason(world, client_for, no_role_user):
    response = client_for(no_role_user).get("/api/v1/reports/contributions/?format=csv")

    assert response.status_code == 403
    assert list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")))) == [
        ["detail", "code"],
        [
            "Only fund managers, task team leaders and donors may read fund data.",
            "permission_denied",
        ],
    ]


# --- Writes ----------------------------------------------------------------------------------


def _partner_payload(w):
    return {
        "code": "NEWP",
        "name": "New partner",
        "kind": "new_development_partner",
        "country": "HTI",
        "joined_on": "2012-03-01",
    }


def _partner_created(body, w):
    partner = Partner.objects.get(code="NEWP")
    return body["id"] == partner.pk and partner.country_id == "HTI"


def _contribution_payload(w):
    return {
        "partner": w["partner"].pk,
        "reference": "NEW-DKK",
        "currency": "DKK",
        "pledged_amount": "750000.00",
        "pledged_usd": "135000.00",
        "signed_on": "2012-01-15",
    }


def _contribution_created(body, w):
    contribution = Contribution.objects.get(reference="NEW-DKK")
    return (
        body["id"] == contribution.pk
        and contribution.pledged_usd == Decimal("135000.00")
        and body["status"] == "pledged"
    )


WRITES = {
    "create partner": ("post", "/api/v1/partners/", _partner_payload, 201, _partner_created),
    "patch partner": (
        "patch",
        "/api/v1/partners/{partner}/",
        lambda w: {"name": "Renamed partner"},
        200,
        lambda body, w: Partner.objects.get(pk=w["partner"].pk).name == "Renamed partner",
    ),
    "put partner": (
        "put",
        "/api/v1/partners/{partner}/",
        lambda w: {"code": "WRLD2", "name": "World partner", "kind": "private", "country": None},
        200,
        lambda body, w: Partner.objects.get(pk=w["partner"].pk).code == "WRLD2",
    ),
    "create contribution": (
        "post",
        "/api/v1/contributions/",
        _contribution_payload,
        201,
        _contribution_created,
    ),
    "patch contribution": (
        "patch",
        "/api/v1/contributions/{usd}/",
        lambda w: {"pledged_amount": "6000.00"},
        200,
        lambda body, w: (
            body["pledged_usd"] == "6000.00"
            and Contribution.objects.get(pk=w["usd"].pk).pledged_usd == Decimal("6000.00")
        ),
    ),
    "put contribution": (
        "put",
        "/api/v1/contributions/{usd}/",
        lambda w: {
            "partner": w["partner"].pk,
            "reference": "W-USD-2",
            "currency": "USD",
            "pledged_amount": "7000.00",
        },
        200,
        lambda body, w: Contribution.objects.get(pk=w["usd"].pk).reference == "W-USD-2",
    ),
    "create receipt": (
        "post",
        "/api/v1/contributions/{usd}/receipts/",
        lambda w: {"amount": "100.00", "received_on": "2011-05-01"},
        201,
        lambda body, w: (
            Receipt.objects.filter(contribution=w["usd"]).count() == 1
            and Fund.objects.get().received_usd == Decimal("640.00")
            and body["usd_amount"] == "100.00"
        ),
    ),
    "reverse receipt": (
        "post",
        "/api/v1/contributions/{eur}/receipts/{receipt}/reverse/",
        lambda w: {"reason": "Recorded against the wrong pledge."},
        201,
        lambda body, w: (
            (body["reverses"], body["amount"], body["usd_amount"])
            == (w["receipt"].pk, "-400.00", "-540.00")
            and Fund.objects.get().received_usd == Decimal("0.00")
            and Contribution.objects.get(pk=w["eur"].pk).received_usd == Decimal("0.00")
        ),
    ),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(WRITES))
def test_writing(action, role, world, client_for, unchanged):
    method, template, payload, success, check = WRITES[action]
    client = client_for(role)  # before any snapshot: a donor brings a partner

    if role in WRITERS:
        response = getattr(client, method)(_url(template, world), payload(world), format="json")
        assert response.status_code == success, response.content
        assert check(response.json(), world)
        return

    with unchanged():
        response = getattr(client, method)(_url(template, world), payload(world), format="json")
    if role == "anonymous":
        assert_unauthenticated(response)
    else:
        assert_forbidden(response)


@pytest.mark.parametrize(
    "role, reason",
    [
        ("task_team_leader", "Only fund managers may record partners."),
        ("donor", "Only fund managers may record partners."),
        ("no_role", "Only fund managers may record partners."),
    ],
)
def test_the_403_says_why(role, reason, world, client_for):
    response = client_for(role).post("/api/v1/partners/", _partner_payload(world), format="json")

    assert response.json() == {"detail": reason, "code": "permission_denied"}


@pytest.mark.parametrize("role", ["task_team_leader", "donor"])
def test_money_in_refusal_names_the_rule(role, world, client_for):
    response = client_for(role).post(
        _url("/api/v1/contributions/{usd}/receipts/", world),
        {"amount": "1.00", "received_on": "2011-05-01"},
        format="json",
    )

    assert response.json() == {
        "detail": "Only fund managers may record contributions and receipts.",
        "code": "permission_denied",
    }


@pytest.mark.parametrize(
    "url",
    ["/api/v1/partners/{partner}/", "/api/v1/contributions/{usd}/"],
    ids=["partner", "pledge"],
)
def test_partners_and_pledges_are_never_deleted(url, world, fund_manager, client_for, unchanged):
    with unchanged():
        response = client_for(fund_manager).delete(_url(url, world))

    assert response.status_code == 405


# --- What does not exist ---------------------------------------------------------------------


NOT_FOUND_READS = {
    "country": "/api/v1/countries/XYZ/",
    "sector": "/api/v1/sectors/99999/",
    "partner": f"/api/v1/partners/{MISSING}/",
    "contribution": f"/api/v1/contributions/{MISSING}/",
    "receipts of a missing contribution": f"/api/v1/contributions/{MISSING}/receipts/",
    "missing receipt": f"/api/v1/contributions/{{eur}}/receipts/{MISSING}/",
    # A receipt exists, but not under this contribution.
    "receipt under another contribution": "/api/v1/contributions/{usd}/receipts/{receipt}/",
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("what", sorted(NOT_FOUND_READS))
def test_reading_what_does_not_exist(what, role, world, client_for):
    response = client_for(role).get(_url(NOT_FOUND_READS[what], world))

    if role == "anonymous":
        assert_unauthenticated(response)
    elif role == "no_role":
        assert_forbidden(response)
    else:
        assert response.status_code == 404, response.content
        assert response.json() == {"detail": "Not found.", "code": "not_found"}


NOT_FOUND_WRITES = {
    "patch partner": ("patch", f"/api/v1/partners/{MISSING}/", {"name": "X"}),
    "put partner": (
        "put",
        f"/api/v1/partners/{MISSING}/",
        {"code": "XX", "name": "X", "kind": "private"},
    ),
    "patch contribution": ("patch", f"/api/v1/contributions/{MISSING}/", {"reference": "X"}),
    "receipt for a missing contribution": (
        "post",
        f"/api/v1/contributions/{MISSING}/receipts/",
        {"amount": "1.00", "usd_amount": "1.00", "received_on": "2011-01-01"},
    ),
    "reverse a missing receipt": (
        "post",
        f"/api/v1/contributions/{MISSING}/receipts/{MISSING}/reverse/",
        {"reason": "typo"},
    ),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("what", sorted(NOT_FOUND_WRITES))
def test_writing_to_what_does_not_exist(what, role, world, client_for):
    method, url, payload = NOT_FOUND_WRITES[what]
    client = client_for(role)
    before = database_state()

    response = getattr(client, method)(url, payload, format="json")

    if role == "anonymous":
        assert_unauthenticated(response)
    elif role in WRITERS:
        assert response.status_code == 404, response.content
    else:
        assert_forbidden(response)
    assert database_state() == before
