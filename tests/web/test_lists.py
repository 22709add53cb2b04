"""The grant list: what the user may see, filtered like the API's list."""

import pytest

from grants.models import GrantStatus
from tests.grants.factories import make_grant
from tests.web.pages import page

pytestmark = pytest.mark.django_db


def _listed(response) -> set[int]:
    rows = page(response).testid("grant-table").find("tbody").find_all("tr")
    return {int(row.attrs["data-grant"]) for row in rows}


def test_the_list_shows_what_the_user_may_see(web, leader, leader2, fund_manager, donor, funded):
    mine_draft = make_grant(leader, GrantStatus.DRAFT)
    mine_submitted = make_grant(leader, GrantStatus.SUBMITTED)
    others_submitted = make_grant(leader2, GrantStatus.SUBMITTED)
    others_approved = make_grant(leader2, GrantStatus.APPROVED, manager=fund_manager)
    assert _listed(web(leader).get("/grants/")) == {
        mine_draft.pk, mine_submitted.pk, others_approved.pk
    }  # fmt: skip
    assert _listed(web(fund_manager).get("/grants/")) == {
        mine_submitted.pk, others_submitted.pk, others_approved.pk
    }  # fmt: skip
    assert _listed(web(donor).get("/grants/")) == {others_approved.pk}


def test_the_list_filters_by_status_and_by_leader(web, leader, leader2, fund_manager, funded):
    submitted = make_grant(leader, GrantStatus.SUBMITTED, title="Water for all")
    approved = make_grant(leader2, GrantStatus.APPROVED, manager=fund_manager)
    client = web(fund_manager)
    assert _listed(client.get("/grants/?status=approved")) == {approved.pk}
    assert _listed(client.get("/grants/?status=approved&status=submitted")) == {
        submitted.pk, approved.pk
    }  # fmt: skip
    assert _listed(client.get("/grants/?search=water")) == {submitted.pk}
    mine = web(leader).get(f"/grants/?task_team_leader={leader.pk}")
    assert _listed(mine) == {submitted.pk}
    assert page(mine).find("h1").text == "My grants"
    # The filter form shows what was chosen.
    form = page(client.get("/grants/?status=approved")).testid("grant-filter-form")
    checked = [
        i.attrs["value"] for i in form.find_all("input", name="status") if "checked" in i.attrs
    ]
    assert checked == ["approved"]


def test_a_bad_filter_is_shown_not_a_crash(web, fund_manager, funded):
    response = web(fund_manager).get("/grants/?status=nonsense&min_usd=abc")
    assert response.status_code == 200
    form = page(response).testid("grant-filter-form")
    assert form.find("ul", **{"class": "errorlist"}) is not None
