"""The home pages and the grant page run a fixed number of queries, whatever the size
of the portfolio (no query per grant, per exchange or per history row).

Each count includes the three every logged-in page pays: the session, the user and the
user's roles; and a fund manager's pages a fourth, the authenticator that verified the
session (django-otp's OTPMiddleware: a device deleted by a reset ends its sessions'
second factor); and every logged-in page one more, the header's unread notifications
(collaboration.selectors.unread_count)."""

from datetime import date

import pytest

from collaboration.services import comment_create
from grants import services as grant_services
from grants.alerts import evaluate_fund_alerts
from grants.models import GrantStatus
from results import services as result_services
from tests.brokering.factories import make_offer
from tests.documents.factories import make_document
from tests.factories import fund_with, make_contribution, make_receipt
from tests.flowfacts import flow_facts_refreshed, map_queries
from tests.grants.factories import make_grant
from tests.results.factories import finished_grant, make_story, review_lessons

pytestmark = pytest.mark.django_db

PAGES = {
    # (who, page): queries. The fund's money is one query (grants.selectors.fund_summary)
    # and the dashboard's portfolio two (grouped once, then the sectors' names).
    # The fund manager's home: one more for the authenticator that verified the session,
    # one for the grants overdue against the service standards
    # (analytics.cycletimes.overdue_against_standards), one for the open funding windows.
    ("fund_manager", "home"): 13,
    # The leader's home: their grants, with the latest return's comment of the returned
    # ones, in one query.
    ("leader", "home"): 5,
    # The donor's home: one query for the funding windows, one for co-financing.
    ("donor", "home"): 13,
    # The grant page reads its partner roles (with their partners) in one query, its
    # countries (recipients and providers) in one and its exchanges' in one (a UNION ALL
    # each: grants.views._prefetch_countries), its documents (with their uploaders and
    # exchanges) in one, the grants that follow on from it in one
    # (results.templatetags.follow_up; a closed grant one more, for its ex-post checks),
    # the proposal's edits its history shows in one more (grants.selectors.grant_edits;
    # their countries and sectors in one each, only when an edit changed them), its
    # exchanges' participant feedback in one (grouped by exchange, the totals summed
    # from those), and its discussion (the comments with their authors) in one. Its
    # completion report is read with the grant (joined: no query of its own).
    ("fund_manager", "grant"): 18,
    ("fund_manager", "proposal"): 19,  # with the approval form and the fund's money
    ("leader", "grant"): 16,
    # The offers catalogue: its count (on the status index), the page with its capacity,
    # its sectors, the filters' sectors and countries (outside a transaction, as a real
    # request runs, the data version instead, once they are cached: brokering.views).
    ("donor", "offers"): 9,
    # The dashboard and the hub: five more for the exchanges' map and its tables
    # (analytics.portfolio.exchange_flows_both; on PostgreSQL two: WITH_MAP); the
    # dashboard one more for the windows and one for co-financing; and one for the
    # follow-up needs of its follow-up table (results.selectors._add_needs).
    ("donor", "dashboard"): 26,
    # The hub four more for its reviewed lessons: count, page, countries, outcomes.
    ("anonymous", "hub"): 16,
    # The grant list (issue 13): the count, the totals of the filtered list (one
    # aggregate), the page (sector, leader and window joined), its recipient and
    # provider countries (one query each), and the filter form's three pickers (sectors,
    # recipient and provider countries), and the header's unread count; filtered,
    # searched and sorted it is the same.
    ("fund_manager", "grants"): 13,
    ("fund_manager", "grants, filtered and sorted"): 13,
    ("anonymous", "home"): 4,
}
# The pages with the exchanges' map: its five queries are SQLite's (tests/flowfacts.py).
WITH_MAP = {("donor", "dashboard"), ("anonymous", "hub")}


def _portfolio(size, leader, fund_manager, donor_partner):
    """``size`` grants at every stage, each with exchanges, history and stories."""
    contribution = make_contribution(donor_partner, pledged_amount="900000.00")
    make_receipt(contribution, "500000.00")
    fund_with(str(1_000_000 * size))
    for number in range(size):
        for status in [GrantStatus.DRAFT, GrantStatus.SUBMITTED, GrantStatus.RETURNED]:
            make_grant(leader, status, manager=fund_manager, title=f"{status} {number}")
        make_grant(
            leader,
            GrantStatus.APPROVED,
            manager=fund_manager,
            planned_start=date(2020, 1, 1),
            planned_end=date(2020, 2, 1),
        )
        finished_grant(leader, fund_manager, accept=False)
        closed = finished_grant(leader, fund_manager, instruments=["workshop", "study_tour"])
        make_story(fund_manager, closed, published=True, title=f"Story {number}")
    review_lessons(fund_manager)
    evaluate_fund_alerts()
    # A proposal waiting for a decision, with size planned exchanges.
    proposal = make_grant(leader, GrantStatus.DRAFT)
    for number in range(size):
        grant_services.exchange_create(
            grant=proposal,
            user=leader,
            instrument="study_tour",
            title=f"Study tour {number}",
            start_date=date(2026, 2, 1),
            end_date=date(2026, 2, 2),
        )
    grant_services.grant_transition(grant=proposal, user=leader, action="submit")
    # An approved grant, with size exchanges, disbursements and documents.
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    for number in range(size):
        grant_services.exchange_create(
            grant=grant,
            user=leader,
            instrument="workshop",
            title=f"Workshop {number}",
            start_date=date(2026, 2, 1),
            end_date=date(2026, 2, 2),
            provider_countries=[],
            recipient_countries=[],
        )
        grant_services.disbursement_record(
            grant=grant, user=fund_manager, amount_usd=1000, disbursed_on=date(2026, 2, 1)
        )
        make_document(grant, leader, exchange=grant.exchanges.last())
        make_document(proposal, leader)
        link, _token = result_services.feedback_link_open(
            exchange=grant.exchanges.get(title=f"Workshop {number}"), user=leader
        )
        for answer in range(size):
            result_services.feedback_answer(
                link=link, session_key=f"s{answer}", relevance=4, usefulness=4, intention=5
            )
        for grant_discussed in (grant, proposal):
            comment_create(grant=grant_discussed, user=leader, body=f"@fm {number}")
    return grant, proposal


@pytest.mark.parametrize("size", [1, 3])
@pytest.mark.parametrize(("who", "page_name"), list(PAGES))
def test_page_query_counts_are_pinned(
    web, django_assert_num_queries, who, page_name, size, leader, fund_manager,
    donor_partner,
):  # fmt: skip
    grant, proposal = _portfolio(size, leader, fund_manager, donor_partner)
    for number in range(size):
        make_offer(leader, title=f"Offer {number}", sectors=["16010", "16020"])
    url = {
        "home": "/",
        "grant": f"/grants/{grant.pk}/",
        "proposal": f"/grants/{proposal.pk}/",
        "dashboard": "/dashboard/",
        "hub": "/hub/",
        "grants": "/grants/",
        "offers": "/offers/",
        "grants, filtered and sorted": "/grants/?status=approved&status=closed&search=a"
        "&min_usd=1&ordering=-requested_usd",
    }[page_name]
    flow_facts_refreshed()
    client = web(who)
    expected = PAGES[(who, page_name)]
    if (who, page_name) in WITH_MAP:
        expected += map_queries() - 5
    with django_assert_num_queries(expected):
        response = client.get(url)
    assert response.status_code == 200
