"""Every operation of the API, read from its own OpenAPI schema, with its path filled in
with objects that exist: for tests that must hold for the whole API (the JSON depth limit,
``Cache-Control: no-store``), so that an endpoint added later is walked too."""

import functools
import re
from datetime import date
from decimal import Decimal

from django.apps import apps
from drf_spectacular.generators import SchemaGenerator

from audit.models import AuditEntry
from collaboration.models import Notification
from grants import services as grant_services
from grants.alerts import run_fund_check
from grants.models import GrantStatus, Reminder
from grants.reminders import run_reminders
from partners.models import Country, FundAlert, Sector
from results import services as result_services
from results.models import FollowUpNeed
from tests.brokering.factories import make_offer, make_request
from tests.documents.factories import make_document
from tests.factories import fund_with, make_contribution, make_receipt
from tests.grants.factories import make_exchange, make_grant
from tests.results.factories import finished_grant, make_story
from tests.windows.factories import make_window

WRITES = ("POST", "PUT", "PATCH")


@functools.cache
def operations() -> tuple[tuple[str, str], ...]:
    """``(METHOD, path template)`` of every operation the schema documents."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return tuple(
        (method.upper(), path)
        for path, operations_of_path in schema["paths"].items()
        for method in operations_of_path
        if method in ("get", "post", "put", "patch", "delete")
    )


def one_of_each(fund_manager, leader) -> dict:
    """An object behind every path parameter, keyed by the collection that names it
    (``grants`` for ``/grants/{id}/`` and ``/grants/{grant_pk}/...``), nested ones
    belonging to their parent: an approved grant with an exchange and a disbursement, a
    contribution with a receipt, a story, a reminder, an alert, a funding window, a
    published offer, an open request and a notification, a feedback link of the exchange
    and a lesson of the grant; a closed grant with its ex-post checks and a follow-up need."""
    fund_with("100.00")
    run_fund_check()  # below the threshold: a low-balance alert
    contribution = make_contribution(pledged_amount="500000.00")
    receipt = make_receipt(contribution, "500000.00")
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    exchange = make_exchange(grant, fund_manager)
    disbursement = grant_services.disbursement_record(
        grant=grant, user=fund_manager, amount_usd=Decimal("1000.00"), disbursed_on=date(2026, 2, 1)
    )
    run_reminders(as_of=date(2026, 10, 1))  # its report was due 60 days after 2026-06-30
    window = make_window(fund_manager, allocate="10000.00")
    document = make_document(grant, leader)
    # After the exchange: a closed grant (its ex-post checks made at closing) whose
    # report has a follow-up need; the checks are read under their own grant.
    closed = finished_grant(leader, fund_manager, title="A closed grant")
    need = FollowUpNeed.objects.create(
        grant=closed, report=closed.completion_report, kind="investment", description="A loan"
    )
    link, _token = result_services.feedback_link_open(exchange=exchange, user=fund_manager)
    lesson = result_services.lesson_create(user=leader, grant=grant, what_worked="Peers.")
    return {
        "feedback-links": link,
        "lessons": lesson,
        "windows": window,
        "grants": grant,
        "exchanges": exchange,
        "disbursements": disbursement,
        "contributions": contribution,
        "receipts": receipt,
        "partners": contribution.partner,
        "results-stories": make_story(fund_manager, grant, published=True),
        "reminders": Reminder.objects.first(),
        "alerts": FundAlert.objects.first(),
        "audit": AuditEntry.objects.order_by("id").first(),
        "countries": Country.objects.get(code="HND"),
        "sectors": Sector.objects.get(code="16010"),
        "offers": make_offer(leader),
        "requests": make_request(leader),
        "documents": document,
        "follow-up-needs": need,
        "ex-post-checks": closed.ex_post_checks.first(),
        # The fund manager's own (the grant's submission told them).
        "notifications": Notification.objects.filter(user=fund_manager).first(),
    }


def concrete(path: str, objects: dict) -> str:
    """The path with each ``{parameter}`` replaced by the object of the collection
    before it (its ``code`` for ``{code}``, else its id)."""

    def fill(match):
        collection, parameter = match.group(1), match.group(2)
        assert objects.get(collection) is not None, (
            f"{path}: say in tests/api_walk.py one_of_each which object {{{parameter}}} of "
            f"{collection} names"
        )
        obj = objects[collection]
        return f"{collection}/{obj.code if parameter == 'code' else obj.pk}"

    # ``grants/{grant_pk}`` and ``grants/{id}``: the parameter names its collection.
    return re.sub(r"([\w-]+)/\{(\w+)\}", fill, path)


def snapshot() -> dict:
    """Every row of the project's tables (and of users and tokens), to show that a
    request wrote nothing."""
    labels = {
        "partners",
        "grants",
        "results",
        "brokering",
        "documents",
        "common",
        "auth",
        "authtoken",
        "axes",
    }
    return {
        model._meta.label: sorted(map(repr, model.objects.values_list()))
        for model in apps.get_models()
        if model._meta.app_label in labels
    }
