"""Every list endpoint of partners and money in answers in a fixed number of queries,
the same with 3 rows as with 30 (STYLE.md 11: query counts pinned).

Each request is made as a fresh user object, as a real request sees it, so the user's
roles (one query) are counted; the rest is the list itself (a count and a page), or one
query for a report.
"""

import pytest

from partners.models import Partner, PartnerKind
from tests.factories import PartnerFactory, make_contribution, make_receipt

pytestmark = pytest.mark.django_db

ROWS = [3, 30]


def _partners(n):
    for i in range(n):
        PartnerFactory(kind=PartnerKind.PRIVATE if i % 2 else PartnerKind.TRADITIONAL_DONOR)


def _pledges_with_receipts(n):
    for i in range(n):
        contribution = make_contribution(
            currency="EUR" if i % 2 else "USD",
            pledged_amount="1000.00",
            pledged_usd="1200.00" if i % 2 else None,
        )
        make_receipt(contribution, "100.00", usd_amount="120.00" if i % 2 else None)


def _receipts_of_one_pledge(n):
    contribution = make_contribution(pledged_amount="100000.00", reference="MANY")
    for _ in range(n):
        make_receipt(contribution, "10.00")
    return f"/api/v1/contributions/{contribution.pk}/receipts/"


def _count(body):
    return body["count"]


def _page(body):
    return len(body["results"])


def _rows(body):
    return len(body["rows"])


def _usd_pledges(n):
    return (n + 1) // 2  # every other pledge, starting with the first


# name: (set-up making n rows, returning the url where the url column is None; url; queries;
#        (rows the body shows, rows it should show for n))
ENDPOINTS = {
    # Reference data is loaded by migration: the page size makes the rows.
    "countries": (None, "/api/v1/countries/?page_size={n}", 3, (_page, int)),
    "sectors": (None, "/api/v1/sectors/?page_size={n}", 3, (_page, int)),
    "partners": (_partners, "/api/v1/partners/?ordering=code", 3, (_count, int)),
    "contributions": (_pledges_with_receipts, "/api/v1/contributions/", 3, (_count, int)),
    "contributions by currency": (
        _pledges_with_receipts,
        "/api/v1/contributions/?currency=usd&ordering=-pledged_usd",
        3,
        (_count, _usd_pledges),
    ),
    "receipts": (_receipts_of_one_pledge, None, 4, (_count, int)),
    "contributions report": (
        _pledges_with_receipts,
        "/api/v1/reports/contributions/",
        2,
        (_rows, int),
    ),
    "contributions report as csv": (
        _pledges_with_receipts,
        "/api/v1/reports/contributions/?format=csv",
        2,
        None,
    ),
    "contributions report by kind": (
        _pledges_with_receipts,
        "/api/v1/reports/contributions/?kind=traditional_donor",
        2,
        (_rows, int),
    ),
    "fund": (_pledges_with_receipts, "/api/v1/fund/", 2, None),
}


@pytest.mark.parametrize("n", ROWS)
@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_list_queries_are_pinned(name, n, fund_manager, fresh_client, django_assert_num_queries):
    make_rows, url, queries, shown = ENDPOINTS[name]
    made = make_rows(n) if make_rows else None
    url = (url or made).format(n=n)
    client = fresh_client(fund_manager)

    with django_assert_num_queries(queries):
        response = client.get(url)

    assert response.status_code == 200
    if url.endswith("format=csv"):
        # a header, a row per partner, and the TOTAL line
        assert len(response.content.decode().splitlines()) == n + 2
    elif name == "fund":
        assert response.json()["received_usd"] == f"{100 * _usd_pledges(n) + 120 * (n // 2)}.00"
    else:
        rows_in, expected = shown
        assert rows_in(response.json()) == expected(n)


def test_a_report_filtered_by_partner_adds_one_query(
    fund_manager, fresh_client, django_assert_num_queries
):
    """Checking the given partner ids exist is the one extra query, for 3 ids as for 30."""
    _pledges_with_receipts(30)
    ids = [str(p.pk) for p in Partner.objects.order_by("pk")]
    for chosen in (ids[:3], ids):
        client = fresh_client(fund_manager)
        with django_assert_num_queries(3):
            response = client.get(
                "/api/v1/reports/contributions/?" + "&".join(f"partner={i}" for i in chosen)
            )
        assert len(response.json()["rows"]) == len(chosen)
