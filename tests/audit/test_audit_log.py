"""The audit log's core: entries written with who, what, before and after, and where
from; the database refuses to change or remove one."""

from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.test import RequestFactory, override_settings

from audit.context import AuditContextMiddleware, client_address
from audit.models import AuditEntry
from audit.services import audit_record, created, diff, snapshot
from partners.models import Partner

pytestmark = pytest.mark.django_db


def test_an_entry_names_actor_action_object_changes_and_reason(make_user):
    alice = make_user("alice", "fund_manager")
    partner = Partner.objects.create(code="DNK", name="Denmark", kind="traditional")
    before = snapshot(partner, ["name", "kind"])
    partner.name = "Kingdom of Denmark"
    after = snapshot(partner, ["name", "kind"])

    entry = audit_record(
        actor=alice,
        action="partner.update",
        obj=partner,
        changes=diff(before, after),
        reason="official name",
    )

    entry = AuditEntry.objects.get(pk=entry.pk)
    assert entry.actor == alice and entry.actor_name == "alice"
    assert entry.action == "partner.update"
    assert entry.object_id == str(partner.pk) and entry.object_repr == str(partner)
    assert entry.content_type.model == "partner"
    assert entry.changes == {"name": ["Denmark", "Kingdom of Denmark"]}
    assert entry.reason == "official name"
    assert entry.address is None


def test_values_are_json_money_as_strings():
    partner = Partner(code="ESP", name="Spain", kind="traditional")
    assert created(partner, ["code"]) == {"code": [None, "ESP"]}
    assert diff({"amount": Decimal("10.00")}, {"amount": Decimal("12.50")}) == {
        "amount": ["10.00", "12.50"]
    }
    assert diff({"amount": Decimal("10.00")}, {"amount": Decimal("10.00")}) == {}


def test_a_job_is_named_when_no_user_acts():
    entry = audit_record(actor=None, action="fund.check", actor_name="check_fund")
    assert entry.actor is None and entry.actor_name == "check_fund"


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_update_and_delete():
    entry = audit_record(actor=None, action="fund.check")
    for statement in (
        "UPDATE audit_auditentry SET action = 'forged' WHERE id = %s",
        "DELETE FROM audit_auditentry WHERE id = %s",
    ):
        with pytest.raises((DatabaseError, IntegrityError)), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(statement, [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).action == "fund.check"


def _through_middleware(request):
    seen = {}

    def view(request):
        seen["entry"] = audit_record(actor=None, action="probe")
        return None

    AuditContextMiddleware(view)(request)
    return seen["entry"].address


def test_the_request_address_reaches_the_entry():
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.7")
    assert _through_middleware(request) == "198.51.100.7"


@override_settings(SEETF_TRUSTED_PROXY_HEADER="HTTP_X_FORWARDED_FOR", SEETF_TRUSTED_PROXY_COUNT=1)
def test_behind_a_trusted_proxy_the_proxy_header_is_read_and_spoofed_hops_ignored():
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9"
    )
    assert client_address(request) == "203.0.113.9"
    assert _through_middleware(request) == "203.0.113.9"


def test_without_a_configured_proxy_the_header_is_not_trusted():
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert client_address(request) == "10.0.0.2"


@override_settings(SEETF_TRUSTED_PROXY_HEADER="HTTP_X_FORWARDED_FOR")
def test_a_garbage_header_falls_back_to_the_socket_address():
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="<script>")
    assert client_address(request) == "10.0.0.2"
