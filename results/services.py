"""Writes for results: completion reports."""

from django.core.exceptions import ValidationError
from django.db import transaction

from grants.models import CapacityOutcome, Grant, GrantStatus
from grants.permissions import can_write_report
from grants.services import grant_transition, grant_transition_check
from seetf.common.errors import ApplicationError

from .models import OUTCOME_FIELDS, CompletionReport, ConcreteResult

REPORT_FIELDS = {
    "outcomes_achieved",
    "concrete_results",
    "participants",
    "rating",
    "lessons",
    "follow_up_needed",
    "follow_up_description",
}


def _forbid(allowed_reason):
    allowed, reason = allowed_reason
    if not allowed:
        raise ApplicationError(reason, code="permission_denied", status=403)


def _locked_grant(grant: Grant) -> Grant:
    return Grant.objects.select_for_update().get(pk=grant.pk)


# The *_check functions hold the refusals that do not depend on the request's body: the
# API runs them before reading it (a user who may not act gets a 403, a grant in the
# wrong status a 409, not a 400 about the form), and the services run them again under
# the grant's row lock.


def completion_report_save_check(*, grant: Grant, user) -> None:
    _forbid(can_write_report(user, grant))
    if grant.status != GrantStatus.APPROVED:
        raise ApplicationError(
            f"The report is written while the grant is approved; this one is {grant.status}.",
            code="invalid_transition",
        )


def completion_report_submit_check(*, grant: Grant, user) -> None:
    """Submitting the report is the workflow's ``complete`` action (grants.workflow)."""
    grant_transition_check(grant=grant, user=user, action="complete")


def completion_report_accept_check(*, grant: Grant, user) -> None:
    """Accepting the report is the workflow's ``accept-report`` action."""
    grant_transition_check(grant=grant, user=user, action="accept-report")


@transaction.atomic
def completion_report_save(*, grant: Grant, user, **fields) -> CompletionReport:
    """The leader writes (creates or replaces) the report while the grant is approved."""
    unknown = set(fields) - REPORT_FIELDS
    if unknown:
        raise ValueError(f"completion_report_save() cannot set {', '.join(sorted(unknown))}")
    grant = _locked_grant(grant)
    completion_report_save_check(grant=grant, user=user)
    outcomes = fields.pop("outcomes_achieved", None)
    results = fields.pop("concrete_results", None)
    if outcomes is not None:
        unknown_outcomes = sorted(set(outcomes) - set(CapacityOutcome.values))
        if unknown_outcomes:
            raise ValidationError(
                {"outcomes_achieved": [f"Unknown outcome(s): {', '.join(unknown_outcomes)}."]}
            )
        fields.update({name: name in outcomes for name in OUTCOME_FIELDS})
    report, _ = CompletionReport.objects.get_or_create(grant=grant)
    for name, value in fields.items():
        setattr(report, name, value)
    if not report.follow_up_needed and "follow_up_description" not in fields:
        report.follow_up_description = ""
    report.save()
    if results is not None:
        report.concrete_results.all().delete()
        ConcreteResult.objects.bulk_create(
            ConcreteResult(report=report, kind=r["kind"], description=r["description"])
            for r in results
        )
    return report


@transaction.atomic
def completion_report_submit(*, grant: Grant, user, comment: str = "") -> CompletionReport:
    """The leader submits the report: the workflow's ``complete`` action moves the grant
    from approved to completed once the report says what it must."""
    grant = _locked_grant(grant)
    completion_report_submit_check(grant=grant, user=user)
    report = grant.completion_report
    missing = {}
    if not report.rating:
        missing["rating"] = ["Rate the grant's results before submitting."]
    if report.follow_up_needed and not report.follow_up_description.strip():
        missing["follow_up_description"] = ["Say what follow-up is needed."]
    if missing:
        raise ValidationError(missing)
    grant_transition(grant=grant, user=user, action="complete", comment=comment)
    return CompletionReport.objects.get(grant=grant)


@transaction.atomic
def completion_report_accept(*, grant: Grant, user, comment: str = "") -> CompletionReport:
    """A fund manager accepts a submitted report (the workflow's ``accept-report``);
    the grant may then be closed."""
    grant_transition(grant=grant, user=user, action="accept-report", comment=comment)
    return CompletionReport.objects.get(grant=grant)
