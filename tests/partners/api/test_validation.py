"""Bad input gets a clear 400 naming the field, and changes nothing (API.md Errors).

Every refused request runs inside ``unchanged()``, which compares partners, pledges,
receipts, the fund's ledger and the idempotency keys before and after.
"""

from datetime import date
from decimal import Decimal

import pytest

from partners import services
from partners.models import Contribution, Partner, PartnerKind

pytestmark = pytest.mark.django_db

ABSURD = "1000000000.01"  # a cent beyond MAX_AMOUNT


def assert_field_error(response, *fields):
    assert response.status_code == 400, response.content
    body = response.json()
    for field in fields:
        assert field in body, body
        assert isinstance(body[field], list) and all(isinstance(m, str) for m in body[field])
    return body


@pytest.fixture
def manager_client(fund_manager, client_for):
    return client_for(fund_manager)


# --- Contributions ---------------------------------------------------------------------------


def _pledge(world, **overrides):
    body = {
        "partner": world["partner"].pk,
        "reference": "NEW-1",
        "currency": "EUR",
        "pledged_amount": "1000.00",
        "pledged_usd": "1300.00",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not Ellipsis}


BAD_PLEDGES = [
    ("negative amount", {"pledged_amount": "-5.00"}, "pledged_amount"),
    ("zero amount", {"pledged_amount": "0.00"}, "pledged_amount"),
    ("zero amount as a number", {"pledged_amount": 0}, "pledged_amount"),
    ("absurd amount", {"pledged_amount": ABSURD}, "pledged_amount"),
    ("too many digits", {"pledged_amount": "99999999999999999"}, "pledged_amount"),
    ("three decimals", {"pledged_amount": "10.005"}, "pledged_amount"),
    ("three decimals as a number", {"pledged_amount": 10.005}, "pledged_amount"),
    ("amount not a number", {"pledged_amount": "abc"}, "pledged_amount"),
    ("amount NaN", {"pledged_amount": "NaN"}, "pledged_amount"),
    ("amount Infinity", {"pledged_amount": "Infinity"}, "pledged_amount"),
    ("amount a boolean", {"pledged_amount": True}, "pledged_amount"),
    ("amount a list", {"pledged_amount": ["1.00"]}, "pledged_amount"),
    ("amount null", {"pledged_amount": None}, "pledged_amount"),
    ("negative USD value", {"pledged_usd": "-1.00"}, "pledged_usd"),
    ("zero USD value", {"pledged_usd": "0"}, "pledged_usd"),
    ("absurd USD value", {"pledged_usd": ABSURD}, "pledged_usd"),
    ("three-decimal USD value", {"pledged_usd": "1300.001"}, "pledged_usd"),
    ("no USD value for EUR", {"pledged_usd": ...}, "pledged_usd"),
    ("USD value differing for USD", {"currency": "USD", "pledged_usd": "999.00"}, "pledged_usd"),
    ("unknown currency", {"currency": "XYZ"}, "currency"),
    ("two-letter currency", {"currency": "EU"}, "currency"),
    ("four-letter currency", {"currency": "EURO"}, "currency"),
    ("numeric currency", {"currency": 978}, "currency"),
    ("blank currency", {"currency": ""}, "currency"),
    ("reference a list", {"reference": ["NEW-1"]}, "reference"),
    ("reference an object", {"reference": {"a": 1}}, "reference"),
    ("reference too long", {"reference": "R" * 65}, "reference"),
    ("reference blank", {"reference": ""}, "reference"),
    ("duplicate reference", {"reference": "W-EUR"}, "reference"),
    ("unknown partner", {"partner": 999999}, "partner"),
    ("partner not an id", {"partner": "abc"}, "partner"),
    ("partner null", {"partner": None}, "partner"),
    ("date a number", {"signed_on": 20110101}, "signed_on"),
    ("impossible date", {"signed_on": "2011-02-30"}, "signed_on"),
    ("date in words", {"period_start": "next spring"}, "period_start"),
    (
        "period ends before it starts",
        {"period_start": "2012-01-01", "period_end": "2011-12-31"},
        "period_end",
    ),
]


@pytest.mark.parametrize(
    "overrides, field", [c[1:] for c in BAD_PLEDGES], ids=[c[0] for c in BAD_PLEDGES]
)
def test_a_bad_pledge_is_refused(overrides, field, world, manager_client, unchanged):
    with unchanged():
        response = manager_client.post(
            "/api/v1/contributions/", _pledge(world, **overrides), format="json"
        )

    assert_field_error(response, field)


def test_a_pledge_without_fields_names_each(world, manager_client, unchanged):
    with unchanged():
        response = manager_client.post("/api/v1/contributions/", {}, format="json")

    body = assert_field_error(response, "partner", "reference", "currency", "pledged_amount")
    assert body["pledged_amount"] == ["This field is required."]


def test_a_receipt_beyond_the_outstanding_explains_why(world, manager_client, unchanged):
    with unchanged():
        response = manager_client.post(
            f"/api/v1/contributions/{world['eur'].pk}/receipts/",
            {"amount": "600.01", "usd_amount": "800.00", "received_on": "2011-06-01"},
            format="json",
        )

    assert assert_field_error(response, "amount") == {
        "amount": ["Only 600.00 EUR of this pledge is outstanding; amend the pledge first."]
    }


@pytest.mark.parametrize(
    "amount, expected",
    [
        ("0.01", "0.01"),
        ("1000000000.00", "1000000000.00"),
        (1234.5, "1234.50"),  # input accepts a number too
        ("750", "750.00"),
    ],
)
def test_pledge_amounts_at_the_limits_are_accepted(amount, expected, world, manager_client):
    response = manager_client.post(
        "/api/v1/contributions/",
        _pledge(world, currency="USD", pledged_amount=amount, pledged_usd=...),
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["pledged_amount"] == expected
    assert Contribution.objects.get(reference="NEW-1").pledged_usd == Decimal(expected)


def test_a_64_character_reference_and_a_lower_case_currency_are_fine(world, manager_client):
    response = manager_client.post(
        "/api/v1/contributions/", _pledge(world, reference="R" * 64, currency="dkk"), format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["currency"] == "DKK"


# --- Amending a pledge -----------------------------------------------------------------------


BAD_AMENDMENTS = [
    ("below what was received", {"pledged_amount": "399.99"}, "pledged_amount"),
    ("zero", {"pledged_amount": "0.00"}, "pledged_amount"),
    ("absurd", {"pledged_amount": ABSURD}, "pledged_amount"),
    ("currency after money came in", {"currency": "USD"}, "currency"),
    ("unknown currency", {"currency": "XYZ"}, "currency"),
    ("another pledge's reference", {"reference": "W-USD"}, "reference"),
    ("period backwards", {"period_start": "2012-01-01", "period_end": "2011-01-01"}, "period_end"),
    ("partner unknown", {"partner": 999999}, "partner"),
]


@pytest.mark.parametrize(
    "changes, field", [c[1:] for c in BAD_AMENDMENTS], ids=[c[0] for c in BAD_AMENDMENTS]
)
def test_a_bad_amendment_is_refused(changes, field, world, manager_client, unchanged):
    with unchanged():
        response = manager_client.patch(
            f"/api/v1/contributions/{world['eur'].pk}/", changes, format="json"
        )

    assert_field_error(response, field)


def test_a_pledge_amended_below_what_was_received_says_so(world, manager_client):
    response = manager_client.patch(
        f"/api/v1/contributions/{world['eur'].pk}/", {"pledged_amount": "399.99"}, format="json"
    )

    assert response.json() == {
        "pledged_amount": ["400.00 EUR was received already; the pledge cannot be smaller."]
    }


def test_a_period_end_alone_is_checked_against_the_stored_start(world, manager_client, unchanged):
    services.contribution_update(contribution=world["usd"], period_start=date(2012, 1, 1))

    with unchanged():
        response = manager_client.patch(
            f"/api/v1/contributions/{world['usd'].pk}/",
            {"period_end": "2011-12-31"},
            format="json",
        )

    assert_field_error(response, "period_end")


def test_a_pledge_can_be_amended_down_to_what_was_received(world, manager_client):
    response = manager_client.patch(
        f"/api/v1/contributions/{world['eur'].pk}/",
        {"pledged_amount": "400.00", "pledged_usd": "540.00"},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "received"
    assert response.json()["outstanding_usd"] == "0.00"


def test_a_pledges_usd_value_cannot_be_amended_below_the_usd_credited(
    world, manager_client, unchanged
):
    with unchanged():
        response = manager_client.patch(
            f"/api/v1/contributions/{world['eur'].pk}/",
            {"pledged_amount": "400.00", "pledged_usd": "539.99"},
            format="json",
        )

    assert_field_error(response, "pledged_usd")
    assert "540.00 USD was credited" in response.json()["pledged_usd"][0]


# --- Receipts --------------------------------------------------------------------------------


def _receipt(**overrides):
    body = {"amount": "100.00", "usd_amount": "135.00", "received_on": "2011-06-01"}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not Ellipsis}


BAD_RECEIPTS = [
    ("negative amount", {"amount": "-100.00"}, "amount"),
    ("zero amount", {"amount": "0"}, "amount"),
    ("absurd amount", {"amount": ABSURD}, "amount"),
    ("three decimals", {"amount": "100.001"}, "amount"),
    ("three decimals as a number", {"amount": 1.005}, "amount"),
    ("amount not a number", {"amount": "abc"}, "amount"),
    ("amount a list", {"amount": [1]}, "amount"),
    ("no amount", {"amount": ...}, "amount"),
    ("beyond the pledge", {"amount": "600.01"}, "amount"),
    ("negative USD", {"usd_amount": "-1.00"}, "usd_amount"),
    ("zero USD", {"usd_amount": "0.00"}, "usd_amount"),
    ("absurd USD", {"usd_amount": ABSURD}, "usd_amount"),
    ("three-decimal USD", {"usd_amount": "1.999"}, "usd_amount"),
    ("no USD on a EUR pledge", {"usd_amount": ...}, "usd_amount"),
    ("date a number", {"received_on": 20110601}, "received_on"),
    ("impossible date", {"received_on": "2011-06-31"}, "received_on"),
    ("no date", {"received_on": ...}, "received_on"),
]


@pytest.mark.parametrize(
    "overrides, field", [c[1:] for c in BAD_RECEIPTS], ids=[c[0] for c in BAD_RECEIPTS]
)
def test_a_bad_receipt_is_refused(overrides, field, world, manager_client, unchanged):
    with unchanged():
        response = manager_client.post(
            f"/api/v1/contributions/{world['eur'].pk}/receipts/",
            _receipt(**overrides),
            format="json",
        )

    assert_field_error(response, field)


def test_a_usd_receipt_with_another_usd_amount_is_refused(world, manager_client, unchanged):
    with unchanged():
        response = manager_client.post(
            f"/api/v1/contributions/{world['usd'].pk}/receipts/",
            {"amount": "100.00", "usd_amount": "99.00", "received_on": "2011-06-01"},
            format="json",
        )

    assert response.json() == {"usd_amount": ["For a USD contribution it equals amount."]}


def test_a_receipt_of_exactly_the_outstanding_completes_the_pledge(world, manager_client):
    response = manager_client.post(
        f"/api/v1/contributions/{world['eur'].pk}/receipts/",
        {"amount": "600.00", "usd_amount": 760, "received_on": "2011-06-01"},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["usd_amount"] == "760.00"
    eur = Contribution.objects.get(pk=world["eur"].pk)
    assert (eur.status, eur.received_amount, eur.received_usd) == (
        "received",
        Decimal("1000.00"),
        Decimal("1300.00"),  # all the pledge's USD value
    )


def test_an_over_long_idempotency_key_is_refused(world, manager_client, unchanged):
    with unchanged():
        response = manager_client.post(
            f"/api/v1/contributions/{world['eur'].pk}/receipts/",
            _receipt(),
            format="json",
            HTTP_IDEMPOTENCY_KEY="k" * 256,
        )

    assert_field_error(response, "Idempotency-Key")


# --- Partners --------------------------------------------------------------------------------


def _partner(**overrides):
    body = {"code": "NEWP", "name": "New partner", "kind": "private", "country": "HTI"}
    body.update(overrides)
    return body


BAD_PARTNERS = [
    ("unknown country", {"country": "XYZ"}, "country"),
    ("country a number", {"country": 332}, "country"),
    ("name too long", {"name": "N" * 201}, "name"),
    ("name blank", {"name": ""}, "name"),
    ("duplicate name", {"name": "World partner"}, "name"),
    ("duplicate code", {"code": "WRLD"}, "code"),
    ("lower-case code", {"code": "newp"}, "code"),
    ("code too long", {"code": "C" * 17}, "code"),
    ("code a list", {"code": ["NEWP"]}, "code"),
    ("unknown kind", {"kind": "donor"}, "kind"),
    ("date a number", {"joined_on": 2012}, "joined_on"),
]


@pytest.mark.parametrize(
    "overrides, field", [c[1:] for c in BAD_PARTNERS], ids=[c[0] for c in BAD_PARTNERS]
)
def test_a_bad_partner_is_refused(overrides, field, world, manager_client, unchanged):
    with unchanged():
        response = manager_client.post("/api/v1/partners/", _partner(**overrides), format="json")

    assert_field_error(response, field)


def test_a_partner_name_of_200_characters_is_fine(world, manager_client):
    response = manager_client.post("/api/v1/partners/", _partner(name="N" * 200), format="json")

    assert response.status_code == 201, response.content
    assert Partner.objects.get(code="NEWP").name == "N" * 200


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"code": "WRLD2"}, "code"),
        ({"name": "Second partner"}, "name"),
        ({"country": "XX"}, "country"),
    ],
    ids=["code taken", "name taken", "bad country"],
)
def test_a_bad_partner_edit_is_refused(changes, field, world, manager_client, unchanged):
    Partner.objects.create(code="WRLD2", name="Second partner", kind=PartnerKind.PRIVATE)

    with unchanged():
        response = manager_client.patch(
            f"/api/v1/partners/{world['partner'].pk}/", changes, format="json"
        )

    assert_field_error(response, field)


# --- Bodies that are not what they should be -------------------------------------------------


def _endpoints(world):
    return [
        ("post", "/api/v1/partners/", {}),
        ("post", "/api/v1/contributions/", {}),
        ("patch", f"/api/v1/contributions/{world['eur'].pk}/", {}),
        ("post", f"/api/v1/contributions/{world['eur'].pk}/receipts/", {}),
        (
            "post",
            f"/api/v1/contributions/{world['eur'].pk}/receipts/",
            {"HTTP_IDEMPOTENCY_KEY": "k-1"},
        ),
    ]


@pytest.mark.parametrize("index", range(5))
@pytest.mark.parametrize(
    "raw", [b'{"amount": ', b"{'amount': 1}", b"\xff\xfe not utf-8"], ids=["cut", "quotes", "bytes"]
)
def test_malformed_json_is_a_parse_error(index, raw, world, manager_client, unchanged):
    method, url, headers = _endpoints(world)[index]

    with unchanged():
        response = getattr(manager_client, method)(
            url, data=raw, content_type="application/json", **headers
        )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "parse_error"
    assert body["detail"].startswith("JSON parse error")


@pytest.mark.parametrize("index", range(5))
def test_a_json_list_instead_of_an_object(index, world, manager_client, unchanged):
    method, url, headers = _endpoints(world)[index]

    with unchanged():
        response = getattr(manager_client, method)(url, [1, 2], format="json", **headers)

    assert response.json() == {
        "non_field_errors": ["Invalid data. Expected a dictionary, but got list."]
    }


def test_an_unsupported_media_type(world, manager_client, unchanged):
    with unchanged():
        response = manager_client.post(
            f"/api/v1/contributions/{world['eur'].pk}/receipts/",
            data="amount=1",
            content_type="text/plain",
        )

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


# --- Pages and filters -----------------------------------------------------------------------


def test_a_page_past_the_last_is_404(world, manager_client):
    response = manager_client.get("/api/v1/partners/?page=99")

    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page.", "code": "not_found"}


@pytest.mark.parametrize("page", ["0", "-1", "abc", "last"])
def test_a_page_that_is_not_a_whole_number_from_1_is_400(page, world, manager_client):
    """Issue 14: a bad query parameter is a 400 naming it (DRF answered 404)."""
    response = manager_client.get(f"/api/v1/partners/?page={page}")

    assert response.status_code == 400
    assert response.json() == {"page": ["A whole number from 1."]}


def test_page_size_goes_up_to_500(manager_client):
    Partner.objects.bulk_create(
        Partner(code=f"B{i:04d}", name=f"Bulk {i:04d}", kind=PartnerKind.PRIVATE)
        for i in range(510)
    )

    response = manager_client.get("/api/v1/partners/?page_size=500")

    body = response.json()
    assert body["count"] == 510
    assert len(body["results"]) == 500
    assert body["next"] is not None and "page=2" in body["next"]
    page2 = manager_client.get(body["next"]).json()
    assert [p["code"] for p in page2["results"]] == [f"B{i:04d}" for i in range(500, 510)]


def test_page_size(manager_client):
    response = manager_client.get("/api/v1/countries/?page_size=7")

    assert response.status_code == 200
    assert len(response.json()["results"]) == 7


@pytest.mark.parametrize("page_size", ["abc", "0", "-3", "501", "1000", ""])
def test_a_page_size_that_is_not_a_whole_number_from_1_to_500_is_400(page_size, manager_client):
    """Issue 14: DRF quietly used 50 for these (and 500 beyond 500)."""
    response = manager_client.get(f"/api/v1/countries/?page_size={page_size}")

    assert response.status_code == 400
    assert response.json() == {"page_size": ["A whole number from 1 to 500."]}


@pytest.mark.parametrize(
    "url, field",
    [
        ("/api/v1/countries/?region=XXX", "region"),
        ("/api/v1/partners/?kind=donor", "kind"),
        ("/api/v1/partners/?country=XYZ", "country"),
        ("/api/v1/contributions/?partner=abc", "partner"),
        ("/api/v1/contributions/?currency=EURO", "currency"),
        ("/api/v1/reports/contributions/?kind=donor", "kind"),
        ("/api/v1/reports/contributions/?partner=abc", "partner"),
        ("/api/v1/reports/contributions/?partner=999999", "partner"),
    ],
)
def test_a_bad_filter_is_400(url, field, world, manager_client):
    assert_field_error(manager_client.get(url), field)
