"""The data the standard needs, editable in the API, the pages and the admin."""

import pytest

from partners.models import Contribution, Partner
from tests.factories import make_contribution

pytestmark = pytest.mark.django_db


def test_a_partner_has_an_iati_identifier_and_type_in_the_api(client_for):
    client = client_for("fund_manager")
    response = client.post(
        "/api/v1/partners/",
        {
            "code": "NOR",
            "name": "Norway",
            "kind": "traditional_donor",
            "iati_org_ref": "XM-DAC-8",
            "iati_org_type": "10",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["iati_org_ref"] == "XM-DAC-8"
    assert response.json()["iati_org_type"] == "10"
    pk = response.json()["id"]
    bad = client.patch(f"/api/v1/partners/{pk}/", {"iati_org_ref": "not an id/x"}, format="json")
    assert bad.status_code == 400 and "iati_org_ref" in bad.json()
    wrong_type = client.patch(f"/api/v1/partners/{pk}/", {"iati_org_type": "99"}, format="json")
    assert wrong_type.status_code == 400 and "iati_org_type" in wrong_type.json()
    assert Partner.objects.get(pk=pk).iati_org_ref == "XM-DAC-8"


def test_a_contribution_names_the_donors_own_activity(client_for):
    contribution = make_contribution()
    client = client_for("fund_manager")
    response = client.patch(
        f"/api/v1/contributions/{contribution.pk}/",
        {"provider_activity_id": "XM-DAC-3-1-12345"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["provider_activity_id"] == "XM-DAC-3-1-12345"
    bad = client.patch(
        f"/api/v1/contributions/{contribution.pk}/",
        {"provider_activity_id": "has spaces"},
        format="json",
    )
    assert bad.status_code == 400 and "provider_activity_id" in bad.json()
    assert Contribution.objects.get(pk=contribution.pk).provider_activity_id == "XM-DAC-3-1-12345"


def test_the_partner_pages_edit_and_show_them(web):
    client = web("fund_manager")
    response = client.post(
        "/partners/new/",
        {
            "code": "NOR",
            "name": "Norway",
            "kind": "traditional_donor",
            "iati_org_ref": "XM-DAC-8",
            "iati_org_type": "10",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    partner = Partner.objects.get(code="NOR")
    assert (partner.iati_org_ref, partner.iati_org_type) == ("XM-DAC-8", "10")
    page = client.get(f"/partners/{partner.pk}/").content.decode()
    assert "XM-DAC-8" in page and "Government" in page


def test_the_admin_edits_a_contributions_iati_activity_only(web, superuser):
    contribution = make_contribution()
    client = web("superuser")
    url = f"/admin/partners/contribution/{contribution.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="provider_activity_id"' in page.content.decode()
    assert 'name="pledged_amount"' not in page.content.decode()
    response = client.post(
        url,
        {
            "provider_activity_id": "GB-GOV-1-300123",
            "receipts-TOTAL_FORMS": "0",
            "receipts-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Contribution.objects.get(pk=contribution.pk).provider_activity_id == "GB-GOV-1-300123"
