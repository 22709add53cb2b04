"""A saved planned exchange is removed from a proposal still being written (issue 13:
"add and remove exchange rows"), through ``grants.services.exchange_remove``: only by
its leader, only while draft or returned, only a planned one, never one that other
records name; audited; a refusal removes nothing."""

from datetime import date

import pytest

from audit.models import AuditEntry
from grants import services as grant_services
from grants.models import Exchange, ExchangeStatus, GrantStatus
from seetf.common.errors import ApplicationError
from tests.documents.factories import make_document
from tests.grants.factories import make_exchange, make_grant
from tests.web.pages import page

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(leader):
    grant = make_grant(leader, title="Cash transfers")
    for title in ("Study tour", "Workshop"):
        make_exchange(grant, leader, title=title, start_date=date(2027, 2, 1),
                      end_date=date(2027, 2, 5))  # fmt: skip
    return grant


def edit_data(root, remove=()):
    """The proposal's edit form as the page sends it, with the saved rows' ids and the
    rows in ``remove`` ticked."""
    data = {}
    form = root.find(data_testid="proposal-form")
    fields = [node for node in form.iter() if node.tag in ("input", "select", "textarea")]
    for field in fields:
        name = field.attrs.get("name")
        if not name or "__prefix__" in name or field.attrs.get("type") == "submit":
            continue
        if field.tag == "select":
            options = field.find_all("option")
            data[name] = [o.attrs["value"] for o in options if "selected" in o.attrs]
        elif field.attrs.get("type") == "checkbox":
            if "checked" in field.attrs:
                data[name] = field.attrs.get("value", "on")
        elif field.tag == "textarea":
            data[name] = field.text
        else:
            data[name] = field.attrs.get("value", "")
    for index in remove:
        data[f"exchanges-{index}-remove"] = "on"
    data["save"] = "1"
    return data


def test_the_leader_removes_a_saved_planned_exchange_when_saving(web, leader, draft):
    client = web(leader)
    root = page(client.get(f"/grants/{draft.pk}/edit/"))
    removable = [
        field
        for field in root.find(data_testid="proposal-form").find_all("input")
        if field.attrs.get("name", "").endswith("-remove")
    ]
    assert len(removable) == 2  # "Remove this exchange" on the saved rows only
    titles = {root.find("input", name=f"exchanges-{i}-title").attrs["value"]: i for i in (0, 1)}
    data = edit_data(root, [titles["Study tour"]])
    response = client.post(f"/grants/{draft.pk}/edit/", data)
    assert response.status_code == 302, page(response).text[:2000]
    assert list(draft.exchanges.values_list("title", flat=True)) == ["Workshop"]
    entry = AuditEntry.objects.get(action="exchange.remove")
    assert entry.actor == leader and entry.changes["title"] == ["Study tour", None]


def test_only_a_planned_exchange_of_a_proposal_being_written_goes(
    leader, leader2, fund_manager, funded, draft
):
    exchange = draft.exchanges.get(title="Study tour")
    with pytest.raises(ApplicationError) as refused:
        grant_services.exchange_remove(exchange=exchange, user=leader2)
    assert refused.value.status == 403
    approved = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    kept = make_exchange(approved, fund_manager, title="Held tour")
    grant_services.exchange_update(exchange=kept, user=fund_manager, status=ExchangeStatus.HELD)
    with pytest.raises(ApplicationError) as refused:
        grant_services.exchange_remove(exchange=kept, user=leader)
    assert refused.value.code == "invalid_transition"
    assert Exchange.objects.filter(pk__in=[exchange.pk, kept.pk]).count() == 2
    assert not AuditEntry.objects.filter(action="exchange.remove").exists()


def test_an_exchange_with_a_document_filed_under_it_stays(leader, draft):
    exchange = draft.exchanges.get(title="Study tour")
    make_document(draft, leader, exchange=exchange)
    with pytest.raises(ApplicationError) as refused:
        grant_services.exchange_remove(exchange=exchange, user=leader)
    assert refused.value.code == "invalid_transition"
    assert "documents" in refused.value.message
    assert Exchange.objects.filter(pk=exchange.pk).exists()
    assert not AuditEntry.objects.filter(action="exchange.remove").exists()
