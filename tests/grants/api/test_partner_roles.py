"""Partner roles on a grant (triangular cooperation): who plays which part, the
co-financing outside the fund (reported, never in the ledger), the facilitating
partners derived from them, and the endorsement a triangular grant needs before it is
approved (409 ``not_endorsed``)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.utils import timezone

from audit.models import AuditEntry
from grants.models import Grant, GrantPartnerRole
from partners.models import Fund, PartnerKind
from tests.factories import PartnerFactory
from tests.grants.conftest import grant_state
from tests.grants.factories import make_grant

from .test_proposals import payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def donor_partner_tr():
    return PartnerFactory(code="DNKR", name="Denmark (roles)", kind=PartnerKind.TRADITIONAL_DONOR)


@pytest.fixture
def southern():
    return PartnerFactory(
        code="BRAR", name="Brazil (roles)", kind=PartnerKind.NEW_DEVELOPMENT_PARTNER
    )


def test_roles_are_written_and_read_with_the_co_financing(client_for, donor_partner_tr, southern):
    roles = [
        {"partner": donor_partner_tr.pk, "role": "cofinancier", "cofinancing_usd": "25000.50"},
        {"partner": donor_partner_tr.pk, "role": "facilitator"},
        {"partner": southern.pk, "role": "knowledge_provider"},
    ]
    response = client_for("leader").post(
        "/api/v1/grants/",
        payload(partner_roles=roles, recipient_endorsed_on=str(timezone.localdate())),
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["partner_roles"] == [
        {
            "partner": donor_partner_tr.pk,
            "role": "cofinancier",
            "cofinancing_usd": "25000.50",
            "partner_kind": "traditional_donor",
        },
        {
            "partner": donor_partner_tr.pk,
            "role": "facilitator",
            "cofinancing_usd": None,
            "partner_kind": "traditional_donor",
        },
        {
            "partner": southern.pk,
            "role": "knowledge_provider",
            "cofinancing_usd": None,
            "partner_kind": "new_development_partner",
        },
    ]
    assert body["facilitating_partners"] == [donor_partner_tr.pk]  # derived
    assert body["recipient_endorsed_on"] == str(timezone.localdate())
    # The detail reads the same rows.
    detail = client_for("leader").get(f"/api/v1/grants/{body['id']}/").json()
    assert detail["partner_roles"] == body["partner_roles"]
    assert AuditEntry.objects.filter(
        action="grant.partner_roles", object_id=str(body["id"])
    ).exists()


def test_co_financing_never_enters_the_ledger(client_for, donor_partner_tr, funded, fund_manager):
    before = Fund.objects.values().get(pk=1)
    roles = [
        {"partner": donor_partner_tr.pk, "role": "cofinancier", "cofinancing_usd": "900000.00"}
    ]
    grant_id = (
        client_for("leader")
        .post(
            "/api/v1/grants/",
            payload(partner_roles=roles, recipient_endorsed_on=str(timezone.localdate())),
            format="json",
        )
        .json()["id"]
    )
    after = Fund.objects.values().get(pk=1)
    before.pop("updated_at"), after.pop("updated_at")
    assert before == after
    client_for("leader").post(f"/api/v1/grants/{grant_id}/submit/", {}, format="json")
    approve = client_for("fund_manager").post(
        f"/api/v1/grants/{grant_id}/approve/", {"approved_usd": "150000.00"}, format="json"
    )
    assert approve.status_code == 200
    fund = Fund.objects.get(pk=1)
    assert fund.committed_usd == Decimal("150000.00")  # the fund's own money only


def test_an_existing_client_writes_facilitating_partners_as_before(
    client_for, donor_partner_tr, southern
):
    client = client_for("leader")
    body = client.post(
        "/api/v1/grants/",
        payload(partner_roles=[{"partner": southern.pk, "role": "knowledge_provider"}]),
        format="json",
    ).json()
    patched = client.patch(
        f"/api/v1/grants/{body['id']}/",
        {"facilitating_partners": [donor_partner_tr.pk]},
        format="json",
    )
    assert patched.status_code == 200, patched.content
    roles = {(r["partner"], r["role"]) for r in patched.json()["partner_roles"]}
    assert roles == {(southern.pk, "knowledge_provider"), (donor_partner_tr.pk, "facilitator")}
    assert patched.json()["facilitating_partners"] == [donor_partner_tr.pk]
    cleared = client.patch(
        f"/api/v1/grants/{body['id']}/", {"facilitating_partners": []}, format="json"
    )
    assert cleared.json()["facilitating_partners"] == []
    assert [r["role"] for r in cleared.json()["partner_roles"]] == ["knowledge_provider"]


@pytest.mark.parametrize(
    "roles, facilitating",
    [
        pytest.param([{"role": "cofinancier"}], None, id="cofinancier-without-amount"),
        pytest.param(
            [{"role": "financier", "cofinancing_usd": "10.00"}], None, id="amount-not-cofinancier"
        ),
        pytest.param([{"role": "facilitator", "partner": "southern"}], None, id="facilitator-ndp"),
        pytest.param([{"role": "financier"}, {"role": "financier"}], None, id="twice"),
        pytest.param([{"role": "financier"}], "donor", id="facilitating-disagrees"),
        pytest.param([{"role": "owner"}], None, id="unknown-role"),
        pytest.param([{"role": "financier", "partner": 987654}], None, id="unknown-partner"),
        pytest.param(
            [{"role": "cofinancier", "cofinancing_usd": "-5.00"}], None, id="negative-amount"
        ),
    ],
)
def test_bad_roles_are_a_400_and_write_nothing(
    client_for, donor_partner_tr, southern, roles, facilitating
):
    partners = {"southern": southern.pk, None: donor_partner_tr.pk}
    body_roles = [{**r, "partner": partners.get(r.get("partner"), r.get("partner"))} for r in roles]
    body = payload(partner_roles=body_roles)
    if facilitating:
        body["facilitating_partners"] = [PartnerFactory(kind=PartnerKind.TRADITIONAL_DONOR).pk]
    before = (Grant.objects.count(), GrantPartnerRole.objects.count())
    response = client_for("leader").post("/api/v1/grants/", body, format="json")
    assert response.status_code == 400, response.content
    assert set(response.json()) & {"partner_roles", "facilitating_partners"}
    assert (Grant.objects.count(), GrantPartnerRole.objects.count()) == before


def test_an_endorsement_in_the_future_is_a_400(client_for):
    tomorrow = str(timezone.localdate() + timedelta(days=1))
    response = client_for("leader").post(
        "/api/v1/grants/", payload(recipient_endorsed_on=tomorrow), format="json"
    )
    assert response.status_code == 400 and "recipient_endorsed_on" in response.json()


def test_a_triangular_grant_needs_the_endorsement_before_approval(
    client_for, funded, donor_partner_tr
):
    leader, manager = client_for("leader"), client_for("fund_manager")
    roles = [{"partner": donor_partner_tr.pk, "role": "financier"}]
    grant_id = leader.post("/api/v1/grants/", payload(partner_roles=roles), format="json").json()[
        "id"
    ]
    leader.post(f"/api/v1/grants/{grant_id}/submit/", {}, format="json")
    actions = {
        a["action"]: a for a in manager.get(f"/api/v1/grants/{grant_id}/").json()["allowed_actions"]
    }
    assert actions["approve"]["allowed"] is False and actions["approve"]["code"] == "not_endorsed"
    before = grant_state(grant_id)
    refused = manager.post(
        f"/api/v1/grants/{grant_id}/approve/", {"approved_usd": "150000.00"}, format="json"
    )
    assert refused.status_code == 409, refused.content
    assert refused.json()["code"] == "not_endorsed"
    assert grant_state(grant_id) == before
    # Back to the leader, who records the endorsement; then it is approved.
    manager.post(f"/api/v1/grants/{grant_id}/return/", {"comment": "Endorsement?"}, format="json")
    today = str(timezone.localdate())
    patched = leader.patch(
        f"/api/v1/grants/{grant_id}/", {"recipient_endorsed_on": today}, format="json"
    )
    assert patched.status_code == 200, patched.content
    assert AuditEntry.objects.filter(action="grant.endorsement", object_id=str(grant_id)).exists()
    leader.post(f"/api/v1/grants/{grant_id}/submit/", {}, format="json")
    approved = manager.post(
        f"/api/v1/grants/{grant_id}/approve/", {"approved_usd": "150000.00"}, format="json"
    )
    assert approved.status_code == 200, approved.content


def test_a_southern_knowledge_provider_beside_a_donor_is_triangular_too(
    leader, fund_manager, funded, donor_partner_tr, southern
):
    from grants import services
    from seetf.common.errors import ApplicationError

    grant = make_grant(
        leader,
        provider_countries=[],
        partner_roles=[
            {"partner": donor_partner_tr, "role": "facilitator"},
            {"partner": southern, "role": "knowledge_provider"},
        ],
    )
    services.grant_transition(grant=grant, user=leader, action="submit")
    with pytest.raises(ApplicationError) as refused:
        services.grant_transition(
            grant=grant, user=fund_manager, action="approve", approved_usd=Decimal("1.00")
        )
    assert refused.value.code == "not_endorsed" and refused.value.status == 409


def test_a_donor_alone_without_a_southern_provider_is_not_triangular(
    leader, fund_manager, funded, donor_partner_tr
):
    from grants import services

    grant = make_grant(
        leader,
        provider_countries=[],
        partner_roles=[{"partner": donor_partner_tr, "role": "financier"}],
    )
    services.grant_transition(grant=grant, user=leader, action="submit")
    grant = services.grant_transition(
        grant=grant, user=fund_manager, action="approve", approved_usd=Decimal("1.00")
    )
    assert grant.status == "approved"


def test_the_data_migration_turns_facilitating_partners_into_roles(leader, donor_partner_tr):
    from importlib import import_module

    grant = make_grant(leader)
    Grant.facilitating_partners.through.objects.create(grant=grant, partner=donor_partner_tr)
    migration = import_module("grants.migrations.0010_partner_roles")
    migration.facilitators_to_roles(apps, None)
    migration.facilitators_to_roles(apps, None)  # twice: nothing more
    assert list(GrantPartnerRole.objects.values_list("grant_id", "partner_id", "role")) == [
        (grant.pk, donor_partner_tr.pk, "facilitator")
    ]


def test_co_financing_is_reported_on_the_donor_dashboard(
    client_for, web, funded, leader, fund_manager, donor, donor_partner
):
    """Reported beside the fund's money (API and page), never in the ledger."""
    other = PartnerFactory(kind=PartnerKind.TRADITIONAL_DONOR)
    make_grant(
        leader,
        "approved",
        manager=fund_manager,
        recipient_endorsed_on=timezone.localdate(),
        partner_roles=[
            {"partner": donor_partner, "role": "cofinancier", "cofinancing_usd": Decimal("40000")},
            {"partner": other, "role": "cofinancier", "cofinancing_usd": Decimal("2500.25")},
        ],
    )
    make_grant(  # a draft: not reported
        leader,
        partner_roles=[
            {"partner": donor_partner, "role": "cofinancier", "cofinancing_usd": Decimal("9")}
        ],
    )
    body = client_for("donor").get("/api/v1/dashboards/donor/").json()
    assert body["cofinancing"] == {"partner_usd": "40000.00", "all_usd": "42500.25", "grants": 1}
    assert body["fund"]["committed_usd"] == "100000.00"
    page = web("donor").get("/dashboard/").content.decode()
    assert 'data-testid="donor-cofinancing">40,000.00<' in page
