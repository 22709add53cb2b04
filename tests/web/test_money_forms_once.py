"""The web's money forms record once (issue 14, point 2): each carries a one-time token
(``seetf.common.idempotency.once_per_form``, kept in the Idempotency-Key store), so a
repeated post of the same rendered form (a double click, a re-post after "back") answers
with the first result, the same redirect and message, and writes nothing more."""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from grants.models import Disbursement, Grant, GrantHistory, GrantStatus
from partners.models import Fund, Receipt
from seetf.common.idempotency import FORM_FIELD
from seetf.common.models import IdempotencyKey
from tests.conftest import read_afresh, second_factor_given
from tests.factories import fund_with, make_contribution, make_receipt
from tests.grants.factories import make_grant
from tests.web.pages import form_data, page

pytestmark = pytest.mark.django_db

DISBURSEMENT = {"amount_usd": "30000", "disbursed_on": "2026-01-15", "purpose": "First tranche"}


def approved_grant(leader, fund_manager):
    return make_grant(
        leader, GrantStatus.APPROVED, manager=fund_manager, approved_usd=Decimal("80000.00")
    )


def disbursement_post(client, grant):
    root = page(client.get(f"/grants/{grant.pk}/"))
    form = root.testid("disbursement-form")
    return form.attrs["action"], form_data(root, "disbursement-form", **DISBURSEMENT)


def test_the_disbursement_form_posted_three_times_records_once(web, leader, fund_manager, funded):
    grant = approved_grant(leader, fund_manager)
    client = web(fund_manager)
    action, data = disbursement_post(client, grant)
    assert data[FORM_FIELD]

    answers = [client.post(action, data) for _ in range(3)]

    assert [a.status_code for a in answers] == [302] * 3
    assert len({a["Location"] for a in answers}) == 1
    assert Disbursement.objects.filter(grant=grant).count() == 1
    assert Grant.objects.get(pk=grant.pk).disbursed_usd == Decimal("30000.00")
    messages = [str(m) for m in client.get(answers[-1]["Location"]).context["messages"]]
    assert len(messages) == 3 and len(set(messages)) == 1  # the first answer, three times
    assert "30,000.00 USD disbursed" in messages[0]


def test_each_rendered_form_has_its_own_token(web, leader, fund_manager, funded):
    grant = approved_grant(leader, fund_manager)
    client = web(fund_manager)
    (action, first), (_, second) = (
        disbursement_post(client, grant),
        disbursement_post(client, grant),
    )
    assert first[FORM_FIELD] != second[FORM_FIELD]

    client.post(action, first)
    client.post(action, second)  # a second disbursement, meant: a form rendered again

    assert Disbursement.objects.filter(grant=grant).count() == 2


def test_a_post_without_a_token_is_a_fresh_request(web, leader, fund_manager, funded):
    grant = approved_grant(leader, fund_manager)
    client = web(fund_manager)

    for _ in range(2):
        assert client.post(f"/grants/{grant.pk}/disbursements/", DISBURSEMENT).status_code == 302

    assert Disbursement.objects.filter(grant=grant).count() == 2
    assert not IdempotencyKey.objects.exists()


def test_a_form_refused_keeps_nothing_and_may_be_corrected(web, leader, fund_manager, funded):
    grant = approved_grant(leader, fund_manager)
    client = web(fund_manager)
    action, data = disbursement_post(client, grant)

    refused = client.post(action, {**data, "amount_usd": "900000"})
    accepted = client.post(action, data)

    assert refused.status_code == 200  # the page again, with the form's error
    assert accepted.status_code == 302
    assert Disbursement.objects.filter(grant=grant).count() == 1


def test_a_token_used_on_another_form_is_refused(web, leader, fund_manager, funded):
    grant = approved_grant(leader, fund_manager)
    other = approved_grant(leader, fund_manager)
    client = web(fund_manager)
    action, data = disbursement_post(client, grant)
    client.post(action, data)

    response = client.post(f"/grants/{other.pk}/disbursements/", data)

    assert response.status_code == 400
    assert not Disbursement.objects.filter(grant=other).exists()


def test_the_receipt_form_posted_three_times_records_once(web, fund_manager):
    pledge = make_contribution(pledged_amount="1000.00")
    client = web(fund_manager)
    root = page(client.get(f"/contributions/{pledge.pk}/"))
    data = form_data(root, "receipt-form", amount="250.00", received_on="2011-06-01")
    action = root.testid("receipt-form").attrs["action"]
    before = Fund.objects.get().received_usd

    answers = [client.post(action, data) for _ in range(3)]

    assert [a.status_code for a in answers] == [302] * 3
    assert Receipt.objects.filter(contribution=pledge).count() == 1
    assert Fund.objects.get().received_usd - before == Decimal("250.00")


def test_the_pledge_form_posted_three_times_records_one_pledge(web, fund_manager):
    from partners.models import Contribution, Partner

    partner = Partner.objects.create(code="DNK", name="Denmark", kind="traditional_donor")
    client = web(fund_manager)
    root = page(client.get(f"/contributions/new/?partner={partner.pk}"))
    data = form_data(
        root,
        "contribution-form",
        reference="DNK-ONCE",
        pledged_amount="1000.00",
        pledged_usd="1000.00",
        pledged_on="2011-06-01",
        currency="USD",
    )
    assert data.get(FORM_FIELD)

    answers = [client.post("/contributions/new/", data) for _ in range(3)]

    assert [a.status_code for a in answers] == [302] * 3
    assert len({a["Location"] for a in answers}) == 1
    assert Contribution.objects.filter(reference="DNK-ONCE").count() == 1


def test_an_approval_posted_twice_decides_once_and_answers_the_same(
    web, leader, fund_manager, funded
):
    grant = make_grant(leader, GrantStatus.SUBMITTED)
    client = web(fund_manager)
    root = page(client.get(f"/grants/{grant.pk}/"))
    data = form_data(root, "approve-form", approved_usd="50000.00")
    action = root.testid("approve-form").attrs["action"]
    committed = Fund.objects.get().committed_usd

    first, again = client.post(action, data), client.post(action, data)

    assert first.status_code == again.status_code == 302
    assert Grant.objects.get(pk=grant.pk).status == GrantStatus.APPROVED
    assert GrantHistory.objects.filter(grant=grant, to_status=GrantStatus.APPROVED).count() == 1
    assert Fund.objects.get().committed_usd - committed == Decimal("50000.00")
    messages = [str(m) for m in client.get(again["Location"]).context["messages"]]
    assert len(messages) == 2 and messages[0] == messages[1]  # not "may not be approved"


def test_a_receipt_reversal_posted_twice_reverses_once_without_an_error(web, fund_manager):
    receipt = make_receipt(make_contribution(pledged_amount="1000.00"), "400.00")
    client = web(fund_manager)
    root = page(client.get(f"/contributions/{receipt.contribution_id}/"))
    data = form_data(root, "receipt-reverse-form", reason="Keyed twice")
    action = root.testid("receipt-reverse-form").attrs["action"]

    answers = [client.post(action, data) for _ in range(2)]

    assert [a.status_code for a in answers] == [302, 302]
    assert Receipt.objects.filter(reverses=receipt).count() == 1
    messages = [str(m) for m in client.get(answers[-1]["Location"]).context["messages"]]
    assert len(messages) == 2 and messages[0] == messages[1]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_disbursement_posts_at_once_then_a_repost_record_once(make_user, leader):
    fund_manager = make_user("fm", "fund_manager")
    fund_with("5000000.00")
    grant = approved_grant(leader, fund_manager)
    browser = Client()
    browser.force_login(fund_manager)
    second_factor_given(browser, fund_manager)
    action, data = disbursement_post(browser, grant)
    barrier = threading.Barrier(2, timeout=30)
    statuses, errors = [], []

    def post():
        try:
            client = Client()
            client.force_login(read_afresh(fund_manager))
            second_factor_given(client, fund_manager)
            barrier.wait()
            statuses.append(client.post(action, data).status_code)
        except BaseException as exc:  # reported in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    statuses.append(browser.post(action, data).status_code)

    assert not errors, errors
    assert statuses == [302, 302, 302]
    assert Disbursement.objects.filter(grant=grant).count() == 1
    assert Grant.objects.get(pk=grant.pk).disbursed_usd == Decimal("30000.00")
