"""Forms that forgive (issue 13), without a browser: every error in one round, beside
its field and in the summary; exchange rows added without a script; a new exchange
starting from the proposal's countries; the history showing edits and amounts."""

from decimal import Decimal

import pytest

from grants import services as grant_services
from grants.models import Grant, GrantStatus
from partners.models import Country, Sector
from tests.grants.factories import make_grant
from tests.web.pages import field_errors, page

pytestmark = pytest.mark.django_db


def proposal(**changes):
    data = {
        "title": "Cash transfers",
        "sector": str(Sector.objects.get(code="16010").pk),
        "region": "LCR",
        "recipient_countries": [str(Country.objects.get(code="HND").pk)],
        "planned_start": "2027-01-10",
        "planned_end": "2027-06-30",
        "requested_usd": "50000",
        "exchanges-TOTAL_FORMS": "2",
        "exchanges-INITIAL_FORMS": "0",
        "exchanges-MIN_NUM_FORMS": "0",
        "exchanges-MAX_NUM_FORMS": "30",
        "save": "1",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_field_and_cross_field_errors_come_in_one_round(web, leader):
    response = web(leader).post(
        "/grants/new/",
        proposal(
            title="",
            planned_end="2027-01-01",
            **{
                "exchanges-0-instrument": "workshop",
                "exchanges-0-title": "",
                "exchanges-0-start_date": "2027-03-05",
                "exchanges-0-end_date": "2027-03-01",
            },
        ),
    )
    assert response.status_code == 200
    root = page(response)
    assert field_errors(root, "id_title") == ["This field is required."]
    assert field_errors(root, "id_planned_end") == [
        "The planned end cannot be before the planned start."
    ]
    assert field_errors(root, "id_exchanges-0-end_date") == [
        "An exchange cannot end before it starts."
    ]
    summary = root.testid("error-summary")
    links = {a.attrs["href"] for a in summary.find_all("a")}
    assert {"#id_title", "#id_planned_end", "#id_exchanges-0-title"} <= links
    assert "Exchange 1, Exchange title: This field is required." in summary.text
    assert not Grant.objects.exists()


def test_a_too_long_title_is_an_error_kept_as_typed(web, leader):
    root = page(web(leader).post("/grants/new/", proposal(title="x" * 300)))
    assert field_errors(root, "id_title") == [
        "Ensure this value has at most 200 characters (it has 300)."
    ]
    title = root.find("input", name="title")
    assert title.attrs["value"] == "x" * 300 and "maxlength" not in title.attrs
    assert title.attrs["data-maxlength"] == "200"
    assert "200 characters at most." in root.text


def test_add_another_exchange_without_a_script_saves_nothing(web, leader):
    response = web(leader).post(
        "/grants/new/",
        proposal(save=None, add_exchange="1", **{"exchanges-0-title": "Study tour"}),
    )
    assert response.status_code == 200
    root = page(response)
    assert len(root.find_all(data_testid="planned-exchange")) == 3 + 1  # and the template row
    assert root.find("input", name="exchanges-TOTAL_FORMS").attrs["value"] == "3"
    assert root.find("input", name="exchanges-0-title").attrs["value"] == "Study tour"
    assert root.find(data_testid="form-errors") is None
    assert not Grant.objects.exists()


def test_a_new_exchange_starts_from_the_proposals_countries(web, leader, fund_manager, funded):
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    root = page(web(leader).get(f"/grants/{grant.pk}/exchanges/new/"))
    recipients = root.find("select", name="recipient_countries")
    providers = root.find("select", name="provider_countries")
    chosen = [o.text for o in recipients.find_all("option") if "selected" in o.attrs]
    assert chosen == ["Honduras (HND)"]
    assert [o.text for o in providers.find_all("option") if "selected" in o.attrs] == [
        "Mexico (MEX)"
    ]
    # Recipients first, as on the proposal's form.
    names = [
        n.attrs["name"] for n in root.find_all("select") if n.attrs.get("multiple") is not None
    ]
    assert names == ["recipient_countries", "provider_countries"]


def test_the_history_shows_edits_and_the_approved_amount(web, leader, fund_manager, funded):
    grant = make_grant(leader, GrantStatus.DRAFT)
    grant_services.grant_update(
        grant=grant,
        user=leader,
        title="Cash transfers, revised",
        recipient_countries=[Country.objects.get(code="GTM")],
    )
    grant_services.grant_transition(grant=grant, user=leader, action="submit")
    grant_services.grant_transition(
        grant=grant, user=fund_manager, action="approve", approved_usd=Decimal("90000.00")
    )
    history = page(web(fund_manager).get(f"/grants/{grant.pk}/")).testid("history")
    (edit,) = history.find_all(data_testid="history-edit")
    rows = [
        [c.text.strip() for c in tr.children if hasattr(c, "tag")] for tr in edit.find_all("tr")
    ]
    assert ["Title", "Conditional cash transfers for Honduras", "Cash transfers, revised"] in rows
    assert ["Recipient countries", "Honduras", "Guatemala"] in rows
    assert history.testid("history-amount").text == "90,000.00 USD"


def test_a_draft_is_saved_with_only_a_title_and_submitted_once_complete(web, leader):
    """The draft keeps what was written; submitting names every missing field at once
    and saves nothing; once complete it is submitted."""
    client = web(leader)
    only_title = {
        k: v for k, v in proposal().items() if k.startswith("exchanges-") or k in ("title", "save")
    }
    response = client.post("/grants/new/", only_title)
    assert response.status_code == 302
    grant = Grant.objects.get()
    assert (grant.title, grant.status, grant.sector, grant.requested_usd) == (
        "Cash transfers",
        GrantStatus.DRAFT,
        None,
        None,
    )
    # The grant page says what is missing; submitting from the form names every field.
    notice = page(client.get(f"/grants/{grant.pk}/")).testid("window-notice").text
    assert "not complete" in notice and "sector" in notice
    submit = {**only_title, "save": None, "submit": "1"}
    root = page(client.post(f"/grants/{grant.pk}/edit/", {k: v for k, v in submit.items() if v}))
    for field in ("sector", "region", "recipient_countries", "planned_start", "planned_end"):
        assert field_errors(root, f"id_{field}"), field
    assert field_errors(root, "id_requested_usd") == ["Give the amount requested."]
    grant.refresh_from_db()
    assert grant.status == GrantStatus.DRAFT
    response = client.post(f"/grants/{grant.pk}/edit/", proposal(save=None, submit="1"))
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.status == GrantStatus.SUBMITTED and grant.requested_usd == Decimal("50000.00")
