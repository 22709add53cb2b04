"""The 22 tampering statements of issue 14 (point 7), run on PostgreSQL as the
application's own role (``SET ROLE seetf_app``, seetf.common.dbrole): each is refused
by the database, or, where the application itself must be able to write that column
(the ledger's totals, a grant's approved and disbursed amounts, a contribution's
received amounts), it goes through and ``check_fund`` then exits 1 naming the drift.
The README's table "The database defends itself" is this list.
"""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from audit.models import AuditEntry
from grants import services as grant_services
from grants.models import Disbursement, GrantHistory, GrantStatus
from partners.models import Receipt
from seetf.common import dbrole
from tests.factories import fund_with, make_contribution, make_receipt
from tests.grants.factories import make_grant

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
D = Decimal

REFUSED = "refused"
CAUGHT = "caught by check_fund"

# (label, statement, outcome: REFUSED with the error's words, or CAUGHT with the drift
# check_fund names). ``{grant}``, ``{receipt}``, ``{disbursement}`` are filled in.
STATEMENTS = [
    ("truncate the history", "TRUNCATE grants_granthistory CASCADE", REFUSED, "permission denied"),
    ("truncate the receipts", "TRUNCATE partners_receipt CASCADE", REFUSED, "permission denied"),
    (
        "truncate the disbursements",
        "TRUNCATE grants_disbursement CASCADE",
        REFUSED,
        "permission denied",
    ),
    ("truncate the audit log", "TRUNCATE audit_auditentry CASCADE", REFUSED, "permission denied"),
    (
        "disable the history's triggers",
        "ALTER TABLE grants_granthistory DISABLE TRIGGER ALL",
        REFUSED,
        "must be owner",
    ),
    (
        "disable a receipt trigger",
        "ALTER TABLE partners_receipt DISABLE TRIGGER append_only_partners_receipt_update",
        REFUSED,
        "must be owner",
    ),
    (
        "drop the history's trigger",
        "DROP TRIGGER grants_granthistory_no_delete ON grants_granthistory",
        REFUSED,
        "must be owner",
    ),
    (
        "bypass every trigger (replica mode)",
        "SET session_replication_role = replica",
        REFUSED,
        "permission denied",
    ),
    (
        "drop the ledger's constraint",
        "ALTER TABLE partners_fund DROP CONSTRAINT fund_available_not_negative",
        REFUSED,
        "must be owner",
    ),
    (
        "a status change with no history",
        "UPDATE grants_grant SET status = 'closed' WHERE id = {grant}",
        REFUSED,
        "with no history row",
    ),
    (
        "change a receipt's amount",
        "UPDATE partners_receipt SET usd_amount = usd_amount + 1000000 WHERE id = {receipt}",
        REFUSED,
        "permission denied",
    ),
    (
        "delete a receipt",
        "DELETE FROM partners_receipt WHERE id = {receipt}",
        REFUSED,
        "permission denied",
    ),
    (
        "change a disbursement's amount",
        "UPDATE grants_disbursement SET amount_usd = 1 WHERE id = {disbursement}",
        REFUSED,
        "permission denied",
    ),
    (
        "delete a disbursement",
        "DELETE FROM grants_disbursement WHERE id = {disbursement}",
        REFUSED,
        "permission denied",
    ),
    (
        "rewrite the history",
        "UPDATE grants_granthistory SET comment = 'forged', actor_id = NULL",
        REFUSED,
        "permission denied",
    ),
    ("delete the history", "DELETE FROM grants_granthistory", REFUSED, "permission denied"),
    (
        "rewrite the audit log",
        "UPDATE audit_auditentry SET action = 'forged'",
        REFUSED,
        "permission denied",
    ),
    ("delete the audit log", "DELETE FROM audit_auditentry", REFUSED, "permission denied"),
    (
        "raise the fund's received money with no receipt",
        "UPDATE partners_fund SET received_usd = received_usd + 1000000",
        CAUGHT,
        "fund.received_usd: the records give 540000.00, the ledger has 1540000.00",
    ),
    (
        "raise a grant's approved amount",
        "UPDATE grants_grant SET approved_usd = approved_usd + 50000 WHERE id = {grant}",
        CAUGHT,
        "fund.committed_usd: the records give 150000.00, the ledger has 100000.00",
    ),
    (
        "hide a grant's disbursements",
        "UPDATE grants_grant SET disbursed_usd = 0 WHERE id = {grant}",
        CAUGHT,
        ".disbursed_usd: the records give 30000.00, the ledger has 0.00",
    ),
    (
        "credit a contribution with no receipt",
        "UPDATE partners_contribution SET received_usd = received_usd + 500, "
        "received_amount = received_amount + 500 WHERE id = {contribution}",
        CAUGHT,
        ".received_usd: the records give 40000.00, the ledger has 40500.00",
    ),
]


def test_there_are_22_statements():
    assert len(STATEMENTS) == 22
    assert len({label for label, *_ in STATEMENTS}) == 22


@pytest.fixture
def ledger(leader, fund_manager):
    fund_with("500000.00")
    contribution = make_contribution(pledged_amount="100000.00")
    receipt = make_receipt(contribution, "40000.00")
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    disbursement = grant_services.disbursement_record(
        grant=grant, user=fund_manager, amount_usd=D("30000.00"), disbursed_on=date(2026, 2, 1)
    )
    return {
        "grant": grant.pk,
        "receipt": receipt.pk,
        "disbursement": disbursement.pk,
        "contribution": contribution.pk,
    }


def as_app_role(statement: str):
    """Run ``statement`` as the application's role, in a savepoint that is rolled back
    whatever happens (the test's transaction goes on as the owner). Deferred
    constraint triggers fire at the end (SET CONSTRAINTS ALL IMMEDIATE)."""
    role = connection.ops.quote_name(dbrole.app_role())
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {role}")
        cursor.execute(statement)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def check_fund():
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("check_fund", stdout=out, stderr=err)
        return 0, err.getvalue()
    except SystemExit as exit_:
        return exit_.code, err.getvalue()


def test_the_application_role_exists_owns_nothing_and_cannot_log_in_without_a_password():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolcanlogin "
            "FROM pg_roles WHERE rolname = %s",
            [dbrole.app_role()],
        )
        assert cursor.fetchone() == (False, False, False, False, False)
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() "
            "AND tableowner = %s",
            [dbrole.app_role()],
        )
        assert cursor.fetchone()[0] == 0


def test_every_table_is_granted_and_the_append_only_ones_insert_only():
    role = dbrole.app_role()
    append_only = set(dbrole.append_only_tables())
    assert {
        "grants_granthistory",
        "partners_receipt",
        "grants_disbursement",
        "audit_auditentry",
    } <= append_only
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
        )
        tables = [row[0] for row in cursor.fetchall()]
        for table in tables:
            rights = {}
            for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "TRIGGER"):
                cursor.execute("SELECT has_table_privilege(%s, %s, %s)", [role, table, privilege])
                rights[privilege] = cursor.fetchone()[0]
            writable = table not in append_only
            assert rights == {
                "SELECT": True,
                "INSERT": True,
                "UPDATE": writable,
                "DELETE": writable,
                "TRUNCATE": False,
                "TRIGGER": False,
            }, table


def test_granting_again_is_idempotent():
    assert dbrole.grant_app_role() is True
    assert dbrole.grant_app_role() is True


@pytest.mark.parametrize(
    ("label", "statement", "outcome", "words"), STATEMENTS, ids=[s[0] for s in STATEMENTS]
)
def test_each_statement_is_refused_or_caught(ledger, label, statement, outcome, words):
    statement = statement.format(**ledger)
    counts = (
        GrantHistory.objects.count(),
        Receipt.objects.count(),
        Disbursement.objects.count(),
        AuditEntry.objects.count(),
    )
    assert check_fund()[0] == 0
    if outcome == REFUSED:
        with pytest.raises(DatabaseError) as refused, transaction.atomic():
            as_app_role(statement)
        assert words in str(refused.value), refused.value
        assert check_fund()[0] == 0
        assert (
            GrantHistory.objects.count(),
            Receipt.objects.count(),
            Disbursement.objects.count(),
            AuditEntry.objects.count(),
        ) == counts
    else:
        with transaction.atomic():
            as_app_role(statement)  # the application may write this column: it goes through
            code, err = check_fund()
            assert code == 1
            assert words in err, err
            transaction.set_rollback(True)


def test_the_workflow_still_changes_a_status_with_its_history(ledger, fund_manager):
    """The status trigger lets the application's own path through (as its role)."""
    grant_pk = ledger["grant"]
    with transaction.atomic():
        role = connection.ops.quote_name(dbrole.app_role())
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL ROLE {role}")
        from grants.models import Grant

        grant = grant_services.grant_transition(
            grant=Grant.objects.get(pk=grant_pk), user=fund_manager, action="cancel", comment="x"
        )
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        assert grant.status == GrantStatus.CANCELLED
        transaction.set_rollback(True)
