"""The grant workflow, declared as one table.

Each :class:`Action` says everything about one step of a grant's life:

- **who** may take it: ``rule(user, grant)``, returning a :class:`Verdict` (or the
  ``(allowed, reason)`` pair the other rules of ``permissions`` return) — a 403;
- **when**: the statuses it starts from (``sources``), then its ``guards``, each
  ``guard(grant)`` returning ``None`` or the :class:`Verdict` refusing it — a 409;
- **what it does**: the status it leads to (``target``; ``None`` for an event that
  leaves the status as it is, such as a report accepted) and its ``effect(step)``, which
  sets fields and moves money (and may raise a ``ValidationError`` about its inputs);
- **how people see it**: the web ``form``, its heading, button, note and style on the
  grant page, the label the history shows, the message once done; and the API's request
  serializer, and whether a retry is replayed (``idempotent``: the actions that move
  money take an ``Idempotency-Key``).

``services.grant_transition`` is the one place that applies an action, for the API, the
web pages, the importer and the tasks alike; ``selectors.allowed_actions`` says which
actions a user may take on a grant now and why not the others; the grant page, the
API's action endpoints and the history labels are derived from this table. A new action
is one :func:`register` call and its effect function.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from partners.services import fund_commit, fund_release, window_refusal
from seetf.common.errors import ApplicationError
from seetf.common.rules import ALLOWED, Verdict, as_verdict

from . import permissions
from .forms import ApproveForm, CancelForm, CommentForm, RejectForm, RequiredCommentForm
from .models import GrantStatus as S
from .models import report_dates
from .references import next_grant_reference


def _refused(reason, code: str = "invalid_transition") -> Verdict:
    return Verdict(False, str(reason), code)


@dataclass
class Step:
    """One action being applied, as an effect sees it: the grant (locked, its status
    already set to the target), who acts, when, the inputs (the validated form or
    request: ``comment``, ``approved_usd``...), and the fields the save must write."""

    grant: object
    user: object
    now: object
    inputs: dict
    fields: list = field(default_factory=list)
    # Where the money moves: by default the fund's ledger, under its lock, at once
    # (``partners.services``); a batch of past decisions (``grants.services.grants_record_past``)
    # gives a :class:`Tally` and moves the ledger once for the batch.
    ledger: object = None
    # Saving the completion report an effect dated: by default now; a batch of past
    # decisions writes its reports itself, in bulk.
    deferred: bool = False

    def set(self, **values) -> None:
        for name, value in values.items():
            setattr(self.grant, name, value)
            if name not in self.fields:
                self.fields.append(name)

    def commit(self, amount) -> None:
        (self.ledger or _LEDGER).commit(amount, self)

    def release(self, amount) -> None:
        (self.ledger or _LEDGER).release(amount, self)

    def save_report(self, report, fields: list) -> None:
        if not self.deferred:
            report.save(update_fields=[*fields, "updated_at"])


class _Ledger:
    """The fund's ledger row (and, for a grant of a funding window, the window's): each
    movement under their locks, the fund's first (partners.services)."""

    @staticmethod
    def commit(amount, step: "Step") -> None:
        fund_commit(amount_usd=amount, window_id=step.grant.window_id)

    @staticmethod
    def release(amount, step: "Step") -> None:
        fund_release(
            amount_usd=amount,
            window_id=step.grant.window_id,
            by=step.user,
            reason=f"{step.grant.reference}: {step.grant.status}",
        )


_LEDGER = _Ledger()


@dataclass(frozen=True)
class Action:
    name: str
    sources: frozenset
    target: str | None
    rule: Callable
    history_label: str
    done: str
    effect: Callable[[Step], None] | None = None
    guards: tuple = ()
    # The refusal when the status is not one of the sources ("{status}" is the grant's);
    # by default it names the sources.
    status_message: str = ""
    # The grant page: the form (None: taken elsewhere, e.g. on the report's page), where
    # it sits ("decisions": the fund managers' panel; "leader": the leader's toolbar),
    # its heading, button (a string, or a function of the grant), note (a function of
    # the grant and of a function giving the fund's money; or None) and button style
    # ("", "secondary", "danger").
    form: type | None = None
    place: str = "decisions"
    heading: str = ""
    button: object = ""
    note: Callable | None = None
    style: str = ""
    # The form's first values, a function of the grant (approve offers the requested sum).
    initial: Callable | None = None
    # The API: ``POST /api/v1/grants/{id}/<name>/`` with this request serializer (a
    # dotted path, read when the API is built); None: no endpoint of its own.
    request: str | None = None
    idempotent: bool = False

    def button_for(self, grant) -> str:
        return str(self.button(grant) if callable(self.button) else self.button)

    def note_for(self, grant, fund_summary) -> str:
        """The note under the heading; ``fund_summary`` gives the fund's money when the
        note needs it (``grants.selectors.fund_summary``, read only then)."""
        return str(self.note(grant, fund_summary)) if self.note else ""


WORKFLOW: dict[str, Action] = {}


def register(action: Action) -> Action:
    if action.name in WORKFLOW:
        raise ValueError(f"The workflow already has an action {action.name!r}.")
    WORKFLOW[action.name] = action
    return action


@contextmanager
def registered(action: Action) -> Iterator[Action]:
    """An action added for a while (tests), then taken out again."""
    register(action)
    try:
        yield action
    finally:
        WORKFLOW.pop(action.name, None)


def get(name: str) -> Action | None:
    return WORKFLOW.get(name)


# --- Checks -----------------------------------------------------------------------------


def status_verdict(action: Action, grant) -> Verdict:
    if grant.status in action.sources:
        return ALLOWED
    if action.status_message:
        return _refused(action.status_message.format(status=grant.status))
    return _refused(
        gettext("Cannot %(action)s a grant that is %(status)s; it must be %(statuses)s.")
        % {
            "action": action.name,
            "status": grant.status,
            "statuses": " or ".join(sorted(action.sources)),
        }
    )


def evaluate(action: Action, user, grant) -> Verdict:
    """Whether this user may take this action on this grant now: the rule (who), the
    status, then each guard; the first refusal, with its reason and code."""
    verdict = as_verdict(action.rule(user, grant))
    if not verdict.allowed:
        return verdict
    verdict = status_verdict(action, grant)
    if not verdict.allowed:
        return verdict
    for guard in action.guards:
        refusal = guard(grant)
        if refusal is not None and not refusal.allowed:
            return as_verdict(refusal, code="invalid_transition")
    return ALLOWED


# --- Guards: preconditions on the grant and its completion report -------------------------
# The report is read through the grant's reverse one-to-one (results.CompletionReport,
# related_name "completion_report"): results builds on grants, never the other way.


def _report(grant):
    return getattr(grant, "completion_report", None)


def report_written(grant) -> Verdict | None:
    if _report(grant) is None:
        return _refused(gettext("Write the completion report first."))
    return None


def report_submitted(grant) -> Verdict | None:
    report = _report(grant)
    if report is None or report.submitted_at is None:
        return _refused(gettext("Only a submitted report of a completed grant can be accepted."))
    return None


def report_not_yet_accepted(grant) -> Verdict | None:
    report = _report(grant)
    if report is not None and report.accepted_at is not None:
        return _refused(gettext("This report was accepted already."))
    return None


def report_accepted(grant) -> Verdict | None:
    report = _report(grant)
    if report is None or report.accepted_at is None:
        return _refused(gettext("A grant is closed once its completion report has been accepted."))
    return None


# --- Guards: a proposal is complete when submitted (a 400 naming every missing field) ---

# What a draft may lack and a submission needs, with what the leader is told.
NEEDED_TO_SUBMIT = {
    "sector": _("Choose the sector."),
    "region": _("Choose the region."),
    "recipient_countries": _("Name at least one recipient country."),
    "planned_start": _("Give the planned start."),
    "planned_end": _("Give the planned end."),
    "requested_usd": _("Give the amount requested."),
}


def _has_recipients(grant) -> bool:
    """From what the page or the API read with the grant (``_has_recipients``), else one
    query; an unsaved grant of the fund's past (the importer) is not asked: the 2011
    review's grants name none."""
    known = getattr(grant, "_has_recipients", None)
    if known is not None:
        return known
    if grant.pk is None:
        return True
    return grant.recipient_countries.exists()


def proposal_complete(grant) -> Verdict | None:
    """A draft may be saved half written; it is submitted once it says everything the
    fund managers decide on. Every missing field at once, each a 400 on its field."""
    missing = {
        name: [message]
        for name, message in NEEDED_TO_SUBMIT.items()
        if (
            not _has_recipients(grant)
            if name == "recipient_countries"
            else getattr(grant, f"{name}_id" if name == "sector" else name) in (None, "")
        )
    }
    if not missing:
        return None
    names = ", ".join(missing)
    return Verdict(
        False,
        gettext("The proposal is not complete: %(names)s.") % {"names": names},
        "incomplete_proposal",
        field=next(iter(missing)),
        errors=missing,
    )


# --- Guards: a grant in a funding window fits it (a 400 on ``window``) -------------------


def _window_fit(grant, *, on) -> Verdict | None:
    if grant.window_id is None:
        return None
    # An unsaved grant of the past (the importer's ``grants_record_past``) carries its
    # recipients' regions, and its window the codes of its sectors (read once).
    regions = getattr(grant, "_recipient_regions", None)
    if regions is None:
        regions = dict(grant.recipient_countries.values_list("code", "region"))
    window = grant.window
    refusal = window_refusal(
        window,
        region=grant.region,
        sector_id=grant.sector_id,
        recipient_regions=regions,
        requested_usd=grant.requested_usd,
        on=on,
        sector_ids=getattr(window, "_sector_ids", None),
    )
    if refusal:
        return Verdict(False, refusal, "window_ineligible", field="window")
    return None


def fits_window_when_submitted(grant) -> Verdict | None:
    """Submitted while its window takes proposals (open, today within its dates), in its
    region and sectors, within its maximum. A submission of the past the importer
    replays (``_past_at``) is judged at its own date."""
    past = getattr(grant, "_past_at", None)
    return _window_fit(grant, on=timezone.localdate(past) if past else timezone.localdate())


def fits_window_when_approved(grant) -> Verdict | None:
    """Approved while its window is open (not closed: a proposal submitted in time may
    be decided after the call's closing date), in its region and sectors, within its
    maximum."""
    return _window_fit(grant, on=None)


def partner_facts(grant) -> tuple[list[tuple[str, str]], bool]:
    """The grant's partner roles as (role, partner kind) pairs, and whether it has a
    provider country: from what ``selectors.workflow_grant`` read with the detail's row,
    else from the database (two queries)."""
    facts = getattr(grant, "_partner_facts", None)
    if facts is None:
        roles = list(grant.partner_roles.values_list("role", "partner__kind"))
        facts = (roles, grant.provider_countries.exists())
    return facts


TRADITIONAL = "traditional_donor"
SOUTHERN_PROVIDER_KINDS = frozenset({"new_development_partner"})


def is_triangular(roles: list[tuple[str, str]], has_provider_country: bool) -> bool:
    """A traditional donor's partner role beside a Southern provider: a provider country
    of the grant, or a new development partner as knowledge provider."""
    donor = any(kind == TRADITIONAL for _role, kind in roles)
    southern = has_provider_country or any(
        role == "knowledge_provider" and kind in SOUTHERN_PROVIDER_KINDS for role, kind in roles
    )
    return donor and southern


def recipient_endorsed(grant) -> Verdict | None:
    """A triangular grant is approved only once the recipient's endorsement is recorded
    (the review: triangular cooperation can undermine recipient ownership)."""
    if grant.recipient_endorsed_on is not None:
        return None
    if not is_triangular(*partner_facts(grant)):
        return None
    return Verdict(
        False,
        gettext(
            "A triangular grant (a traditional donor beside a Southern provider) needs the "
            "recipient's endorsement (recipient_endorsed_on) before it is approved."
        ),
        "not_endorsed",
    )


# --- Effects -------------------------------------------------------------------------------


def submitted(step: Step) -> None:
    step.set(submitted_at=step.now)
    if not step.grant.reference:
        step.set(reference=next_grant_reference(timezone.localdate(step.now).year))


def approved(step: Step) -> None:
    """Commit the approved amount from the fund's available money (409
    ``insufficient_funds`` beyond it, under the fund's lock)."""
    grant, amount = step.grant, step.inputs.get("approved_usd")
    if amount is None:
        raise ValidationError({"approved_usd": [gettext("Give the amount approved.")]})
    if amount <= 0:
        raise ValidationError({"approved_usd": [gettext("Must be greater than zero.")]})
    if amount > grant.requested_usd:
        raise ValidationError(
            {
                "approved_usd": [
                    gettext("Cannot approve more than the %(requested_usd)s USD requested.")
                    % {"requested_usd": f"{grant.requested_usd:,.2f}"}
                ]
            }
        )
    limit = permissions.approval_limit(step.user, grant)
    if limit is not None and amount > limit:
        raise ApplicationError(
            gettext(
                "Your delegated limit in this window is %(limit)s USD; %(amount)s "
                "USD is beyond it (a fund manager may approve it)."
            )
            % {"limit": f"{limit:,.2f}", "amount": f"{amount:,.2f}"},
            code="over_delegated_limit",
            status=403,
        )
    # A grant of a funding window commits the window's money (under the fund's lock,
    # then the window's).
    step.commit(amount)
    step.set(approved_usd=amount, decided_at=step.now)


def decided(step: Step) -> None:
    step.set(decided_at=step.now)


def released(step: Step) -> None:
    """What will not be disbursed goes back to the fund's available money (to its
    window's, for a grant of an open funding window)."""
    release = step.grant.undisbursed_usd
    if release > 0:
        step.release(release)
        step.set(released_usd=step.grant.released_usd + release)


# Each report effect also sets what the grant keeps of its report (``report_dates``).


def report_submitted_now(step: Step) -> None:
    report = _report(step.grant)
    report.submitted_at = step.now
    step.save_report(report, ["submitted_at"])
    step.set(**report_dates(report.submitted_at, report.accepted_at))


def report_accepted_now(step: Step) -> None:
    report = _report(step.grant)
    report.accepted_at = step.now
    report.accepted_by = step.user
    step.save_report(report, ["accepted_at", "accepted_by"])
    step.set(**report_dates(report.submitted_at, report.accepted_at))


def report_returned_now(step: Step) -> None:
    """The report goes back to its leader to revise: no longer submitted (the grant is
    approved again, the leader writes and submits it once more)."""
    report = _report(step.grant)
    report.submitted_at = None
    step.save_report(report, ["submitted_at"])
    step.set(**report_dates(report.submitted_at, report.accepted_at))


# --- The table -----------------------------------------------------------------------------


def _usd(amount) -> str:
    return number_format(amount, 2, force_grouping=True)


def _available_note(grant, fund_summary):
    if grant.window_id is not None:
        window = grant.window
        return format_html(
            str(
                _(
                    "The window {code} has <strong>{available} USD</strong> available; "
                    "{requested} USD was requested."
                )
            ),
            code=window.code,
            available=_usd(window.available_usd),
            requested=_usd(grant.requested_usd),
        )
    return format_html(
        str(
            _(
                "The fund has <strong>{available} USD</strong> available; "
                "{requested} USD was requested."
            )
        ),
        available=_usd(fund_summary()["available_usd"]),
        requested=_usd(grant.requested_usd),
    )


def _cancel_note(grant, fund_summary):
    return _("Cancelling releases the %(amount)s USD not yet disbursed back to the fund.") % {
        "amount": _usd(grant.undisbursed_usd)
    }


def _close_note(grant, fund_summary):
    return _("Closing releases the %(amount)s USD not disbursed back to the fund.") % {
        "amount": _usd(grant.undisbursed_usd)
    }


def _submit_button(grant):
    if grant.status == S.RETURNED:
        return _("Resubmit to the fund")
    return _("Submit to the fund")


PIPELINE = frozenset({S.SUBMITTED, S.UNDER_REVIEW})
TRANSITION_REQUEST = "grants.api.serializers.TransitionSerializer"

for _action in [
    Action(
        "submit",
        frozenset({S.DRAFT, S.RETURNED}),
        S.SUBMITTED,
        permissions.can_submit_grant,
        history_label=_("Submitted"),
        done=_("The proposal %(ref)s was submitted to the fund managers."),
        effect=submitted,
        guards=(proposal_complete, fits_window_when_submitted),
        form=CommentForm,
        place="leader",
        heading=_("Submit"),
        button=_submit_button,
        request=TRANSITION_REQUEST,
    ),
    Action(
        "start-review",
        PIPELINE - {S.UNDER_REVIEW},
        S.UNDER_REVIEW,
        permissions.can_review_grant,
        history_label=_("Review started"),
        done=_("The review of %(ref)s has started."),
        form=CommentForm,
        heading=_("Start the review"),
        button=_("Start the review"),
        style="secondary",
        request=TRANSITION_REQUEST,
    ),
    Action(
        "approve",
        PIPELINE,
        S.APPROVED,
        permissions.can_approve_grant,
        history_label=_("Approved"),
        done=_("%(ref)s was approved."),
        effect=approved,
        guards=(fits_window_when_approved, recipient_endorsed),
        form=ApproveForm,
        heading=_("Approve"),
        button=_("Approve"),
        note=_available_note,
        initial=lambda grant: {"approved_usd": grant.requested_usd},
        request="grants.api.serializers.ApproveSerializer",
        idempotent=True,
    ),
    Action(
        "return",
        PIPELINE,
        S.RETURNED,
        permissions.can_review_grant,
        history_label=_("Returned for revision"),
        done=_("%(ref)s was returned to its task team leader."),
        effect=decided,
        form=RequiredCommentForm,
        heading=_("Return for revision"),
        button=_("Return to the leader"),
        style="secondary",
        request=TRANSITION_REQUEST,
    ),
    Action(
        "reject",
        PIPELINE,
        S.REJECTED,
        permissions.can_review_grant,
        history_label=_("Rejected"),
        done=_("%(ref)s was rejected."),
        effect=decided,
        form=RejectForm,
        heading=_("Reject"),
        button=_("Reject the proposal"),
        style="danger",
        request=TRANSITION_REQUEST,
    ),
    Action(
        "cancel",
        frozenset({S.APPROVED}),
        S.CANCELLED,
        permissions.can_decide_grant,
        history_label=_("Cancelled"),
        done=_("%(ref)s was cancelled; its undisbursed money was released."),
        effect=released,
        form=CancelForm,
        heading=_("Cancel the grant"),
        button=_("Cancel the grant"),
        note=_cancel_note,
        style="danger",
        request=TRANSITION_REQUEST,
        idempotent=True,
    ),
    # The leader submits the completion report (results app): approved -> completed.
    Action(
        "complete",
        frozenset({S.APPROVED}),
        S.COMPLETED,
        permissions.can_write_report,
        history_label=_("Completion report submitted"),
        done=_("The completion report was submitted; the grant is completed."),
        effect=report_submitted_now,
        guards=(report_written,),
        status_message=_(
            "A report is submitted while the grant is approved; this one is {status}."
        ),
    ),
    # A fund manager accepts the submitted report; the status stays completed.
    Action(
        "accept-report",
        frozenset({S.COMPLETED}),
        None,
        permissions.can_accept_report,
        history_label=_("Completion report accepted"),
        done=_("The completion report was accepted; the grant can now be closed."),
        effect=report_accepted_now,
        guards=(report_submitted, report_not_yet_accepted),
        status_message=_("Only a submitted report of a completed grant can be accepted."),
    ),
    # A fund manager sends a submitted report back for revision, with a comment the
    # leader reads (results.services.completion_report_return requires it): the grant is
    # approved again and its report no longer submitted.
    Action(
        "return-report",
        frozenset({S.COMPLETED}),
        S.APPROVED,
        permissions.can_return_report,
        history_label=_("Completion report returned for revision"),
        done=_("The completion report was returned to the task team leader for revision."),
        effect=report_returned_now,
        guards=(report_submitted, report_not_yet_accepted),
        status_message=_("Only a submitted report of a completed grant can be returned."),
    ),
    Action(
        "close",
        frozenset({S.COMPLETED}),
        S.CLOSED,
        permissions.can_decide_grant,
        history_label=_("Closed"),
        done=_("%(ref)s was closed; its undisbursed money was released."),
        effect=released,
        guards=(report_accepted,),
        form=CommentForm,
        heading=_("Close the grant"),
        button=_("Close the grant"),
        note=_close_note,
        request=TRANSITION_REQUEST,
        idempotent=True,
    ),
]:
    register(_action)

# How the history names the rows that are not workflow actions.
HISTORY_LABELS = {"create": _("Drafted")}


def history_label(action: str) -> str:
    known = WORKFLOW.get(action)
    return str(known.history_label if known else HISTORY_LABELS.get(action, action))


# Statuses in which the leader may still edit the proposal itself.
EDITABLE_STATUSES = frozenset({S.DRAFT, S.RETURNED})
# Statuses in which exchanges may be added or changed (the leader plans them in the
# proposal; once approved, the leader and fund managers record what happens).
EXCHANGE_STATUSES_FOR_LEADER = frozenset({S.DRAFT, S.RETURNED, S.APPROVED})
EXCHANGE_STATUSES_FOR_MANAGER = frozenset({S.APPROVED})
DISBURSABLE_STATUSES = frozenset({S.APPROVED, S.COMPLETED})
