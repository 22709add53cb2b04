"""Writes for grants: proposals, the workflow, exchanges and disbursements.

Every state change goes through ``grant_transition``, which checks the rule, the
current status (under the grant's row lock), saves with ``update_fields`` and writes
the history row, all in one transaction. Money moves through the fund's ledger
(``partners.services.fund_*``), whose row lock serialises every movement.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, OuterRef, ProtectedError, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext

from audit.services import audit_record, created, diff, snapshot
from partners.models import Country, Partner, PartnerKind, Sector, Window
from partners.roles import is_fund_manager
from partners.services import (
    fund_disburse,
    fund_undisburse,
    reversal_check,
    validate_reason,
    window_refusal,
)
from seetf.common.bulk import insert_rows
from seetf.common.errors import ApplicationError
from seetf.common.models import explicit_timestamps
from seetf.common.money import is_whole_cents
from seetf.common.rules import require

from . import workflow
from .models import (
    FIRST_MOVE_FIELDS,
    MAX_GRANT_USD,
    PARENT_STATUSES,
    CapacityOutcome,
    Disbursement,
    Exchange,
    ExchangeStatus,
    Grant,
    GrantHistory,
    GrantPartnerRole,
    GrantRelation,
    GrantStatus,
    PartnerRole,
)
from .permissions import (
    can_create_grant,
    can_decide_grant,
    can_disburse,
    can_edit_grant,
    can_record_exchange,
    is_leader_of,
)
from .references import REFERENCE_PATTERN, reference_reserve
from .signals import disbursement_recorded, grant_transitioned
from .workflow import (
    DISBURSABLE_STATUSES,
    EDITABLE_STATUSES,
    EXCHANGE_STATUSES_FOR_LEADER,
    EXCHANGE_STATUSES_FOR_MANAGER,
)

PROPOSAL_FIELDS = {
    "title",
    "summary",
    "sector",
    "region",
    "recipient_countries",
    "provider_countries",
    "facilitating_partners",
    "requested_usd",
    "development_goal",
    "targeted_outcomes",
    "planned_start",
    "planned_end",
    "window",
    "partner_roles",
    "recipient_endorsed_on",
}
M2M_FIELDS = {"recipient_countries", "provider_countries", "facilitating_partners"}
MAX_PARTNER_ROLES = 20
# What the audit log keeps of a grant: the workflow's and the money's fields (a
# transition's entry: no many-to-many, so no query), and the proposal's too (an edit's);
# the partner roles and the endorsement have entries of their own.
GRANT_STATE_FIELDS = (
    "status",
    "reference",
    "approved_usd",
    "released_usd",
    "submitted_at",
    "decided_at",
    "completion_report_due",
)
GRANT_AUDIT_FIELDS = (
    *sorted(PROPOSAL_FIELDS - {"partner_roles", "recipient_endorsed_on"}),
    *GRANT_STATE_FIELDS,
)


def _invalid_transition(message: str):
    return ApplicationError(message, code="invalid_transition")


def _record(
    grant: Grant, *, actor, action: str, from_status: str, comment: str = "", at=None
) -> None:
    at = at or timezone.now()
    GrantHistory.objects.create(
        grant=grant,
        at=at,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=grant.status,
        comment=comment or "",
    )
    # The first-move dates follow the history (a transition saved them with its fields
    # already: ``grant_transition``; this is for any other row).
    changed = grant.note_move(grant.status, at)
    if changed:
        Grant.objects.filter(pk=grant.pk).update(**{name: getattr(grant, name) for name in changed})


def grant_first_moves_recompute(*, grants=None) -> int:
    """Each grant's first-move dates (``Grant.first_submitted_on``,
    ``first_approved_on``) computed again from its history, in TIME_ZONE's dates, in one
    UPDATE: for the writers that insert history rows in bulk (given their ``grants``),
    and for every grant after a change of TIME_ZONE (``manage.py grant_first_moves``);
    with them what it keeps of its completion report (``report_submitted_on``, the
    submission's local date, and ``report_accepted_at``), from the report: a report
    changed behind the workflow's back is followed again. The number of grants updated."""
    zone = timezone.get_default_timezone()
    reports = Grant.completion_report.related.related_model.objects.filter(grant=OuterRef("pk"))
    report_submitted_on = Subquery(
        reports.annotate(day=TruncDate("submitted_at", tzinfo=zone)).values("day")[:1]
    )

    def first(status):
        return Subquery(
            GrantHistory.objects.filter(grant=OuterRef("pk"), to_status=status)
            .order_by("at", "id")
            .annotate(day=TruncDate("at", tzinfo=zone))
            .values("day")[:1]
        )

    rows = Grant.objects.all() if grants is None else Grant.objects.filter(pk__in=grants)
    return rows.update(
        **{name: first(status) for status, name in FIRST_MOVE_FIELDS.items()},
        report_submitted_on=report_submitted_on,
        report_accepted_at=Subquery(reports.values("accepted_at")[:1]),
    )


# --- Proposals ----------------------------------------------------------------------------


def _validate_proposal(data: dict, *, today: date | None = None) -> None:
    """The rules a proposal must meet, each a 400 naming its field."""
    errors: dict[str, list[str]] = {}
    requested = data.get("requested_usd")
    if requested is not None:
        if requested <= 0:
            errors["requested_usd"] = [gettext("Must be greater than zero.")]
        elif requested > MAX_GRANT_USD:
            errors["requested_usd"] = [
                gettext("Must be at most %(max_grant_usd)s.")
                % {"max_grant_usd": f"{MAX_GRANT_USD:,}"}
            ]
        elif not is_whole_cents(requested):
            errors["requested_usd"] = [gettext("Use at most two decimal places.")]
    start, end = data.get("planned_start"), data.get("planned_end")
    if start and end and end < start:
        errors["planned_end"] = [gettext("The planned end cannot be before the planned start.")]
    recipients = data.get("recipient_countries")
    if recipients is not None and len(recipients) == 0:
        errors["recipient_countries"] = [gettext("Name at least one recipient country.")]
    providers = data.get("provider_countries") or []
    both = sorted({c.code for c in providers} & {c.code for c in recipients or []})
    if both:
        errors["provider_countries"] = [
            gettext("A country cannot both provide and receive in one grant: %(countries)s.")
            % {"countries": ", ".join(both)}
        ]
    outcomes = data.get("targeted_outcomes")
    if outcomes is not None:
        unknown = sorted(set(outcomes) - set(CapacityOutcome.values))
        if unknown:
            errors["targeted_outcomes"] = [f"Unknown outcome(s): {', '.join(unknown)}."]
    partners = data.get("facilitating_partners") or []
    not_donors = sorted(p.code for p in partners if p.kind != PartnerKind.TRADITIONAL_DONOR)
    if not_donors:
        errors["facilitating_partners"] = [
            gettext("Facilitating partners are traditional donors; not: %(not_donors)s.")
            % {"not_donors": ", ".join(not_donors)}
        ]
    window = data.get("window")
    complete = all(data.get(name) is not None for name in ("region", "sector", "requested_usd"))
    if window is not None and complete and not errors:
        # The window's rules as at submission, but for its opening date: a draft may be
        # prepared before the window takes proposals (the submission checks the dates).
        # ``today``: the day a proposal of the past was written (the importer's).
        today = today or timezone.localdate()
        refusal = window_refusal(
            window,
            region=data.get("region"),
            sector_id=getattr(data.get("sector"), "pk", None),
            recipient_regions={c.code: c.region for c in recipients or []},
            requested_usd=requested,
            on=max(today, window.opens_on),
            sector_ids=getattr(window, "_sector_ids", None),
        )
        if refusal:
            errors["window"] = [refusal]
    role_errors = _partner_role_errors(data.get("partner_roles") or [])
    if role_errors:
        errors["partner_roles"] = role_errors
    endorsed = data.get("recipient_endorsed_on")
    if endorsed is not None and endorsed > timezone.localdate():
        errors["recipient_endorsed_on"] = [gettext("The endorsement cannot be in the future.")]
    if errors:
        raise ValidationError(errors)


def errors_of(check, data: dict) -> dict[str, list[str]]:
    """The errors one of the rules above (``proposal_rules``, ``exchange_rules``) finds
    in what is given, as ``{field: [messages]}``, without raising: a web form that
    refused some fields still shows the rules' errors on the others, all at once rather
    than in rounds. Only the fields given are checked."""
    try:
        check(data)
    except ValidationError as error:
        return error.message_dict
    return {}


def proposal_rules(data: dict) -> None:
    """The proposal's rules (``_validate_proposal``), for ``errors_of``."""
    _validate_proposal(data)


def exchange_rules(data: dict) -> None:
    """An exchange's rules (``_validate_exchange``), for ``errors_of``."""
    _validate_exchange(data)


def _validate_reference(reference: str) -> None:
    match = REFERENCE_PATTERN.fullmatch(reference or "")
    if match is None:
        raise ValidationError({"reference": [gettext("A grant reference is SEETF-YYYY-NNNN.")]})
    if Grant.objects.filter(reference=reference).exists():
        raise ValidationError(
            {
                "reference": [
                    gettext("A grant %(reference)s exists already.") % {"reference": reference}
                ]
            }
        )


def _proposal_grant(
    leader, fields: dict, *, recipients_required: bool = True, today: date | None = None
):
    """The unsaved draft of ``grant_create`` and its many-to-many values, once the
    leader may propose and the proposal meets the rules (403, 400)."""
    require(can_create_grant(leader))
    data = {
        "summary": "",
        "provider_countries": (),
        "facilitating_partners": (),
        "development_goal": "",
        "targeted_outcomes": (),
        "window": None,
        "partner_roles": [],
        **fields,
    }
    for name in (*M2M_FIELDS, "targeted_outcomes"):
        data[name] = list(data[name])
    if not recipients_required and not data["recipient_countries"]:
        data.pop("recipient_countries")
        _validate_proposal(data, today=today)
        data["recipient_countries"] = []
    else:
        _validate_proposal(data, today=today)
    data.pop("partner_roles")
    m2m = {name: data.pop(name) for name in M2M_FIELDS}
    data["targeted_outcomes"] = sorted(set(data["targeted_outcomes"]))
    grant = Grant(task_team_leader=leader, **data)
    grant.completion_report_due = grant.compute_completion_report_due()
    return grant, m2m


def _partner_role_errors(roles: list[dict]) -> list[str]:
    """What is wrong with a list of partner roles ({partner, role, cofinancing_usd})."""
    errors = []
    if len(roles) > MAX_PARTNER_ROLES:
        return [
            gettext("At most %(max_partner_roles)s partner roles.")
            % {"max_partner_roles": MAX_PARTNER_ROLES}
        ]
    seen = set()
    for item in roles:
        partner, role, amount = item["partner"], item["role"], item.get("cofinancing_usd")
        if (partner.pk, role) in seen:
            errors.append(
                gettext("%(code)s holds the role %(role)s twice.")
                % {"code": partner.code, "role": role}
            )
        seen.add((partner.pk, role))
        if role == PartnerRole.COFINANCIER:
            if amount is None or amount <= 0:
                errors.append(
                    gettext("Give what %(code)s co-finances (cofinancing_usd).")
                    % {"code": partner.code}
                )
            elif not is_whole_cents(amount):
                errors.append(gettext("Use at most two decimal places in cofinancing_usd."))
        elif amount is not None:
            errors.append(
                gettext("Only a cofinancier has cofinancing_usd (%(code)s is %(role)s).")
                % {"code": partner.code, "role": role}
            )
        if role == PartnerRole.FACILITATOR and partner.kind != PartnerKind.TRADITIONAL_DONOR:
            errors.append(
                gettext("Facilitators are traditional donors; not: %(code)s.")
                % {"code": partner.code}
            )
    return errors


def _merge_roles(fields: dict, current: list[dict] | None) -> list[dict] | None:
    """The partner roles a write asks for: ``partner_roles`` as sent; or, for existing
    clients sending only ``facilitating_partners``, the current roles with the
    facilitator ones replaced by those partners; None when neither is sent. Both sent
    (a non-empty ``facilitating_partners``) must agree (400)."""
    roles = fields.get("partner_roles")
    facilitators = fields.get("facilitating_partners")
    if roles is not None:
        roles = [
            {
                "partner": r["partner"],
                "role": r["role"],
                "cofinancing_usd": r.get("cofinancing_usd"),
            }
            for r in roles
        ]
        if facilitators:
            named = {r["partner"].pk for r in roles if r["role"] == PartnerRole.FACILITATOR}
            if named != {p.pk for p in facilitators}:
                raise ValidationError(
                    {
                        "facilitating_partners": [
                            gettext(
                                "Must name the partners of partner_roles with the facilitator "
                                "role (or leave it out)."
                            )
                        ]
                    }
                )
        return roles
    if facilitators is None:
        return None
    kept = [r for r in (current or []) if r["role"] != PartnerRole.FACILITATOR]
    return kept + [
        {"partner": p, "role": PartnerRole.FACILITATOR, "cofinancing_usd": None}
        for p in dict.fromkeys(facilitators)
    ]


def _current_roles(grant: Grant) -> list[dict]:
    return [
        {"partner": r.partner, "role": r.role, "cofinancing_usd": r.cofinancing_usd}
        for r in grant.partner_roles.select_related("partner")
    ]


def _roles_json(roles: list[dict]) -> list[dict]:
    return sorted(
        (
            {
                "partner": r["partner"].pk,
                "role": str(r["role"]),
                "cofinancing_usd": None
                if r.get("cofinancing_usd") is None
                else str(r["cofinancing_usd"]),
            }
            for r in roles
        ),
        key=lambda r: (r["role"], r["partner"]),
    )


def _write_roles(grant: Grant, roles: list[dict], *, actor, before: list[dict]) -> None:
    """Replace the grant's partner roles, and the facilitating partners derived from
    them, in the caller's transaction; audited when they changed."""
    grant.partner_roles.all().delete()
    GrantPartnerRole.objects.bulk_create(
        GrantPartnerRole(
            grant=grant,
            partner=r["partner"],
            role=r["role"],
            cofinancing_usd=r.get("cofinancing_usd"),
        )
        for r in roles
    )
    grant.facilitating_partners.set(
        list(dict.fromkeys(r["partner"] for r in roles if r["role"] == PartnerRole.FACILITATOR))
    )
    old, new = _roles_json(before), _roles_json(roles)
    if old != new:
        audit_record(
            actor=actor,
            action="grant.partner_roles",
            obj=grant,
            changes={"partner_roles": [old, new]},
        )


@transaction.atomic
def grant_create(
    *,
    leader,
    title: str,
    sector: Sector | None = None,
    region: str = "",
    recipient_countries: list[Country] | None = None,
    requested_usd: Decimal | None = None,
    planned_start: date | None = None,
    planned_end: date | None = None,
    summary: str = "",
    provider_countries: list[Country] = (),
    facilitating_partners: list[Partner] = (),
    development_goal: str = "",
    targeted_outcomes: list[str] = (),
    window: Window | None = None,
    partner_roles: list[dict] | None = None,
    recipient_endorsed_on: date | None = None,
    reference: str | None = None,
    at: datetime | None = None,
    recipients_required: bool = True,
) -> Grant:
    """A task team leader drafts a proposal; it stays private to them until submitted.
    A proposal that names a funding window must fit it (400 on ``window``).
    ``partner_roles`` ({partner, role, cofinancing_usd}) says who plays which part;
    ``facilitating_partners`` alone (existing clients) is the facilitator roles.

    The importer (``portability``) records a grant of the fund's past: it keeps the
    grant's ``reference`` (SEETF-YYYY-NNNN, unique; the year's counter is raised past it
    so that no later submission is given it), dates its creation ``at`` the time of the
    files, and, for a grant whose file names no recipient country (the 2011 review's),
    passes ``recipients_required=False``.

    A draft may be saved half written, with only its title: what it lacks (sector,
    region, recipient countries, dates, amount) is required at submission (the
    workflow's ``proposal_complete`` names every missing field); a list of recipients
    given is not empty."""
    require(can_create_grant(leader))
    if recipient_countries is None:
        recipient_countries, recipients_required = [], False
    roles = _merge_roles(
        {"partner_roles": partner_roles, "facilitating_partners": list(facilitating_partners)},
        [],
    )
    grant, m2m = _proposal_grant(
        leader,
        {
            "title": title,
            "summary": summary,
            "sector": sector,
            "region": region,
            "recipient_countries": recipient_countries,
            "provider_countries": provider_countries,
            "facilitating_partners": facilitating_partners,
            "requested_usd": requested_usd,
            "development_goal": development_goal,
            "targeted_outcomes": targeted_outcomes,
            "planned_start": planned_start,
            "planned_end": planned_end,
            "window": window,
            "partner_roles": roles,
            "recipient_endorsed_on": recipient_endorsed_on,
        },
        recipients_required=recipients_required,
    )
    if reference is not None:
        _validate_reference(reference)
        grant.reference = reference
    grant.save()
    if at is not None:
        # created_at is auto_now_add: the import's date is written after the insert.
        Grant.objects.filter(pk=grant.pk).update(created_at=at, updated_at=at)
        grant.created_at = grant.updated_at = at
    if reference is not None:
        reference_reserve(reference)
    for name, values in m2m.items():
        if values and name != "facilitating_partners":
            getattr(grant, name).add(*values)
    _write_roles(grant, roles, actor=leader, before=[])
    _record(grant, actor=leader, action="create", from_status="", at=at)
    scalars = [f for f in GRANT_AUDIT_FIELDS if f not in M2M_FIELDS]
    changes = created(grant, [*scalars, "task_team_leader"])
    changes.update({name: [None, sorted(v.pk for v in values)] for name, values in m2m.items()})
    audit_record(actor=leader, action="grant.create", obj=grant, changes=changes)
    return grant


def grant_update_check(*, grant: Grant, user) -> None:
    """403 unless the user leads the grant; 409 ``invalid_transition`` unless it is a
    draft or returned. The API runs it before reading the request's body (a user who
    may not edit gets 403, not a 400 about the form); ``grant_update`` runs it again
    under the row lock."""
    require(can_edit_grant(user, grant))
    if grant.status not in EDITABLE_STATUSES:
        raise _invalid_transition(
            gettext("A grant is edited only while draft or returned; this one is %(status)s.")
            % {"status": grant.status}
        )


@transaction.atomic
def grant_update(*, grant: Grant, user, **fields) -> Grant:
    """The leader edits the proposal while it is a draft or returned (else 409). Every
    field changed is audited before and after (``grant.update``)."""
    unknown = set(fields) - PROPOSAL_FIELDS
    if unknown:
        raise ValueError(f"grant_update() cannot set {', '.join(sorted(unknown))}")
    grant = Grant.objects.select_for_update().get(pk=grant.pk)
    grant_update_check(grant=grant, user=user)
    if grant.status != GrantStatus.DRAFT:
        # A returned proposal was complete when submitted, and stays so (the database
        # refuses a grant past draft without them: grant_complete_once_submitted).
        cleared = {
            name: [workflow.NEEDED_TO_SUBMIT[name]]
            for name, value in fields.items()
            if name in workflow.NEEDED_TO_SUBMIT and value in (None, "")
        }
        if cleared:
            raise ValidationError(cleared)
    before = snapshot(grant, GRANT_AUDIT_FIELDS)
    merged = {
        "window": grant.window,
        "region": grant.region,
        "sector": grant.sector,
        "requested_usd": grant.requested_usd,
        "planned_start": grant.planned_start,
        "planned_end": grant.planned_end,
        "targeted_outcomes": grant.targeted_outcomes,
        "recipient_countries": list(grant.recipient_countries.all()),
        "provider_countries": list(grant.provider_countries.all()),
        "facilitating_partners": list(grant.facilitating_partners.all()),
        **fields,
    }
    if "recipient_countries" not in fields and not merged["recipient_countries"]:
        # A draft without recipients yet: the submission asks for them.
        merged.pop("recipient_countries")
    endorsed_before = grant.recipient_endorsed_on
    before_roles = _current_roles(grant)
    roles = _merge_roles(fields, before_roles)
    merged["partner_roles"] = roles if roles is not None else before_roles
    _validate_proposal(merged)
    scalar = {k: v for k, v in fields.items() if k not in M2M_FIELDS and k != "partner_roles"}
    if "targeted_outcomes" in scalar:
        scalar["targeted_outcomes"] = sorted(set(scalar["targeted_outcomes"]))
    for name, value in scalar.items():
        setattr(grant, name, value)
    grant.completion_report_due = grant.compute_completion_report_due()
    grant.save(update_fields=[*scalar, "completion_report_due", "updated_at"])
    for name in (M2M_FIELDS - {"facilitating_partners"}) & set(fields):
        getattr(grant, name).set(fields[name])
    changes = diff(before, snapshot(grant, GRANT_AUDIT_FIELDS))
    if changes:
        audit_record(actor=user, action="grant.update", obj=grant, changes=changes)
    if roles is not None:
        _write_roles(grant, roles, actor=user, before=before_roles)
    if "recipient_endorsed_on" in scalar and scalar["recipient_endorsed_on"] != endorsed_before:
        audit_record(
            actor=user,
            action="grant.endorsement",
            obj=grant,
            changes={"recipient_endorsed_on": [endorsed_before, grant.recipient_endorsed_on]},
        )
    return grant


# --- The workflow ---------------------------------------------------------------------


def _action(name: str) -> workflow.Action:
    action = workflow.get(name)
    if action is None:
        raise _invalid_transition(gettext("Unknown action %(name)s.") % {"name": f"{name!r}"})
    return action


def grant_transition_check(*, grant: Grant, user, action: str) -> None:
    """The refusals of ``grant_transition`` that do not depend on the request's body,
    as ``grants.workflow`` declares them: 403 when the user's rule refuses the action
    (``self_approval`` when a fund manager approves a grant they lead), then 409
    ``invalid_transition`` when the grant's status or a guard does not allow it. The API
    runs it before reading the body, so a user who may not act gets a 403, not a 400
    about a form they may not use; ``grant_transition`` runs it again under the grant's
    row lock."""
    require(workflow.evaluate(_action(action), user, grant))


@transaction.atomic
def grant_transition(
    *, grant: Grant, user, action: str, comment: str = "", at: datetime | None = None, **inputs
) -> Grant:
    """Apply one workflow action to a grant: the one place any action is taken.

    Under the grant's row lock (two decisions on one grant cannot interleave): the
    action's rule, status and guards (``grant_transition_check``), then its effect (which
    may move money: approving commits it, 409 ``insufficient_funds`` beyond what is
    available; cancelling and closing release what will not be spent), the save of the
    fields it set, and the history row, all in one transaction.

    ``at``: when the decision was taken, for the importer's decisions of the past (the
    history row and the fields the effect dates carry it); by default now.
    """
    step_action = _action(action)
    grant = Grant.objects.select_for_update().get(pk=grant.pk)
    grant_transition_check(grant=grant, user=user, action=action)

    from_status = grant.status
    now = at or timezone.now()
    step = workflow.Step(grant=grant, user=user, now=now, inputs=inputs)
    before = snapshot(grant, GRANT_STATE_FIELDS)
    if step_action.target is not None:
        step.set(status=step_action.target)
    if step_action.effect is not None:
        step_action.effect(step)
    # The first submission's or approval's date with the transition's own fields.
    fields = [*step.fields, *grant.note_move(grant.status, now)]
    if fields:
        grant.save(update_fields=[*fields, "updated_at"])
    _record(grant, actor=user, action=action, from_status=from_status, comment=comment, at=now)
    audit_record(
        actor=user,
        action=f"grant.{action}",
        obj=grant,
        changes=diff(before, snapshot(grant, GRANT_STATE_FIELDS)),
        reason=comment,
    )
    grant_transitioned.send(
        sender=Grant,
        grant=grant,
        user=user,
        action=action,
        from_status=from_status,
        comment=comment,
        inputs=inputs,
        past=at is not None,
    )
    return grant


def grant_record_event(*, grant: Grant, user, action: str, comment: str = "") -> None:
    """A history row that is not a workflow action (e.g. a correction of an earlier
    comment); the caller holds the grant's lock in its transaction."""
    _record(grant, actor=user, action=action, from_status=grant.status, comment=comment)
    audit_record(actor=user, action=f"grant.{action}", obj=grant, reason=comment)


# --- Follow-on and repeat grants ----------------------------------------------------------

# The longest chain of parents walked when looking for a cycle: far beyond any real
# chain of follow-ons, it only bounds the walk over data written outside the services.
MAX_CHAIN = 100
FOLLOW_ON_START_DAYS = 30


def _parent_refusal(parent: Grant) -> None:
    """409 ``invalid_transition`` unless ``parent`` may be followed on from."""
    if parent.status not in PARENT_STATUSES:
        raise _invalid_transition(
            gettext(
                "A follow-on or repeat grant follows a completed or closed grant; "
                "%(parent)s is %(status)s."
            )
            % {"parent": parent, "status": parent.status}
        )


def _check_no_cycle(*, grant: Grant, parent: Grant) -> None:
    """409 ``invalid_transition`` when making ``parent`` the parent of ``grant`` would
    close a loop: ``grant`` itself, or one of ``parent``'s ancestors. One query per
    generation walked."""
    if parent.pk == grant.pk:
        raise _invalid_transition(gettext("A grant cannot be its own parent."))
    seen, node = set(), parent.parent_id
    while node is not None and len(seen) < MAX_CHAIN:
        if node == grant.pk:
            raise _invalid_transition(
                gettext(
                    "%(grant)s is already an ancestor of %(parent)s: a chain of grants "
                    "has no cycles."
                )
                % {"grant": grant, "parent": parent}
            )
        seen.add(node)
        node = Grant.objects.filter(pk=node).values_list("parent_id", flat=True).first()
        if node in seen:
            break


def _follow_on_fields(parent: Grant, relation: str) -> dict:
    """The draft's proposal filled from its parent: what it was about, where, for whom,
    the same window if it still takes it, the outcomes it targeted; the same length of
    time, starting a month from today; the amount the parent was given."""
    prefix = "Follow-on" if relation == GrantRelation.FOLLOW_ON else "Repeat"
    start = timezone.localdate() + timedelta(days=FOLLOW_ON_START_DAYS)
    return {
        "title": f"{prefix}: {parent.title}"[:200],
        "summary": parent.summary,
        "sector": parent.sector,
        "region": parent.region,
        "recipient_countries": list(parent.recipient_countries.all()),
        "provider_countries": list(parent.provider_countries.all()),
        "requested_usd": min(parent.approved_usd or parent.requested_usd, MAX_GRANT_USD),
        "development_goal": parent.development_goal,
        "targeted_outcomes": list(parent.targeted_outcomes or []),
        "planned_start": start,
        "planned_end": start + (parent.planned_end - parent.planned_start),
        "window": parent.window,
    }


def grant_propose_follow_on(
    *, parent: Grant, user, relation: str = GrantRelation.FOLLOW_ON
) -> Grant:
    """ "Propose a follow-on": a draft for ``user`` (a task team leader: 403 otherwise)
    filled from ``parent`` and linked to it, for the API action, the grant page's button
    and a follow-up need's (``results.services.need_propose_follow_on``). The parent must
    be completed or closed (409 ``invalid_transition``), statuses it never leaves, so it
    is read, not locked. A window that no longer takes the proposal is left out (the
    leader may choose another), never a reason to refuse."""
    require(can_create_grant(user))
    if relation not in GrantRelation.values:
        raise ValidationError(
            {
                "relation": [
                    gettext("One of %(values)s.") % {"values": ", ".join(GrantRelation.values)}
                ]
            }
        )
    _parent_refusal(parent)
    fields = _follow_on_fields(parent, relation)
    with transaction.atomic():
        try:
            with transaction.atomic():
                grant = grant_create(leader=user, **fields)
        except ValidationError as error:
            if fields["window"] is None or set(getattr(error, "error_dict", {})) != {"window"}:
                raise
            grant = grant_create(leader=user, **{**fields, "window": None})
        grant.parent, grant.relation = parent, relation
        grant.save(update_fields=["parent", "relation", "updated_at"])
        audit_record(
            actor=user,
            action="grant.follow_on",
            obj=grant,
            changes={"parent": [None, parent.pk], "relation": ["", relation]},
        )
    return grant


@transaction.atomic
def grant_link_parent(
    *, grant: Grant, user, parent: Grant | None, relation: str = GrantRelation.FOLLOW_ON
) -> Grant:
    """A fund manager records (or, with no parent, removes) the grant an existing grant
    follows on from or repeats, e.g. one proposed before follow-ons were recorded. 403
    for anyone else; 409 ``invalid_transition`` for a parent that is not completed or
    closed, the grant itself, or one of its descendants (no cycles). Both grants are
    locked, in the order of their ids, so that two links cannot cross into a loop."""
    require(can_decide_grant(user, grant))
    ids = sorted({grant.pk, *([parent.pk] if parent is not None else [])})
    locked = {g.pk: g for g in Grant.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    grant = locked[grant.pk]
    before = {"parent": grant.parent_id, "relation": grant.relation}
    if parent is None:
        grant.parent, grant.relation = None, ""
    else:
        parent = locked[parent.pk]
        if relation not in GrantRelation.values:
            raise ValidationError(
                {
                    "relation": [
                        gettext("One of %(values)s.") % {"values": ", ".join(GrantRelation.values)}
                    ]
                }
            )
        _check_no_cycle(grant=grant, parent=parent)
        _parent_refusal(parent)
        grant.parent, grant.relation = parent, relation
    grant.save(update_fields=["parent", "relation", "updated_at"])
    changes = diff(before, {"parent": grant.parent_id, "relation": grant.relation})
    if changes:
        audit_record(actor=user, action="grant.link_parent", obj=grant, changes=changes)
    return grant


# --- Exchanges ---------------------------------------------------------------------------


def exchange_check(*, grant: Grant, user) -> None:
    """403 unless the user leads the grant or is a fund manager; 409 unless the grant's
    status lets them record exchanges (the leader: draft, returned, approved; a fund
    manager: approved). Run by the API before reading the body, and again under the
    grant's row lock by ``exchange_create`` and ``exchange_update``."""
    require(can_record_exchange(user, grant))
    statuses = (EXCHANGE_STATUSES_FOR_LEADER if is_leader_of(user, grant) else set()) | (
        EXCHANGE_STATUSES_FOR_MANAGER if is_fund_manager(user) else set()
    )
    if grant.status not in statuses:
        raise _invalid_transition(
            gettext("Exchanges cannot be recorded on a grant that is %(status)s.")
            % {"status": grant.status}
        )


def _validate_exchange(data: dict) -> None:
    """The rules an exchange meets, each a 400 naming its field: an exchange is held
    once it has started, never in the future."""
    errors = {}
    start, end = data.get("start_date"), data.get("end_date")
    if start and end and end < start:
        errors["end_date"] = [gettext("An exchange cannot end before it starts.")]
    today = timezone.localdate()
    if data.get("status") == ExchangeStatus.HELD and start and start > today:
        errors["status"] = [
            gettext(
                "An exchange starting on %(start)s cannot be held yet; it is planned "
                "until it starts."
            )
            % {"start": f"{start:%Y-%m-%d}"}
        ]
    women, participants = data.get("women_participants"), data.get("participants")
    if women is not None and participants is not None and women > participants:
        errors["women_participants"] = [gettext("Cannot be more than the participants.")]
    both = {c.code for c in data.get("provider_countries") or []} & {
        c.code for c in data.get("recipient_countries") or []
    }
    if both:
        errors["provider_countries"] = [
            gettext("A country cannot both provide and receive: %(countries)s.")
            % {"countries": ", ".join(sorted(both))}
        ]
    if errors:
        raise ValidationError(errors)


EXCHANGE_FIELDS = {
    "instrument",
    "title",
    "provider_countries",
    "recipient_countries",
    "start_date",
    "end_date",
    "location",
    "participants",
    "women_participants",
    "status",
}


@transaction.atomic
def exchange_create(*, grant: Grant, user, **fields) -> Exchange:
    grant = Grant.objects.select_for_update().get(pk=grant.pk)
    exchange_check(grant=grant, user=user)
    data = {
        "provider_countries": [],
        "recipient_countries": [],
        "location": "",
        "participants": 0,
        "women_participants": 0,
        **fields,
    }
    _validate_exchange(data)
    providers = data.pop("provider_countries")
    recipients = data.pop("recipient_countries")
    exchange = Exchange.objects.create(grant=grant, **data)
    exchange.provider_countries.set(providers)
    exchange.recipient_countries.set(recipients)
    audit_record(
        actor=user,
        action="exchange.create",
        obj=exchange,
        changes=created(exchange, ["grant", *sorted(EXCHANGE_FIELDS)]),
    )
    return exchange


@transaction.atomic
def exchange_update(*, exchange: Exchange, user, **fields) -> Exchange:
    unknown = set(fields) - EXCHANGE_FIELDS
    if unknown:
        raise ValueError(f"exchange_update() cannot set {', '.join(sorted(unknown))}")
    grant = Grant.objects.select_for_update().get(pk=exchange.grant_id)
    exchange_check(grant=grant, user=user)
    before = snapshot(exchange, sorted(EXCHANGE_FIELDS))
    data = {
        "start_date": exchange.start_date,
        "end_date": exchange.end_date,
        "status": exchange.status,
        "participants": exchange.participants,
        "women_participants": exchange.women_participants,
        "provider_countries": list(exchange.provider_countries.all()),
        "recipient_countries": list(exchange.recipient_countries.all()),
        **fields,
    }
    _validate_exchange(data)
    scalar = {
        k: v for k, v in fields.items() if k not in ("provider_countries", "recipient_countries")
    }
    for name, value in scalar.items():
        setattr(exchange, name, value)
    exchange.save(update_fields=[*scalar, "updated_at"])
    for name in {"provider_countries", "recipient_countries"} & set(fields):
        getattr(exchange, name).set(fields[name])
    changes = diff(before, snapshot(exchange, sorted(EXCHANGE_FIELDS)))
    if changes:
        audit_record(actor=user, action="exchange.update", obj=exchange, changes=changes)
    return exchange


@transaction.atomic
def exchange_remove(*, exchange: Exchange, user) -> None:
    """The leader removes a planned exchange from a proposal still being written (draft
    or returned: ``grant_update_check``, 403 then 409). A held or cancelled exchange is a
    record of what happened and stays (409 ``invalid_transition``), and so does one that
    other records name (a document filed under it: 409, nothing removed). Audited with
    every field it had."""
    grant = Grant.objects.select_for_update().get(pk=exchange.grant_id)
    grant_update_check(grant=grant, user=user)
    exchange = Exchange.objects.select_for_update().get(pk=exchange.pk, grant=grant)
    if exchange.status != ExchangeStatus.PLANNED:
        raise _invalid_transition(
            gettext("Only a planned exchange is removed from a proposal; this one is %(status)s.")
            % {"status": exchange.status}
        )
    before = snapshot(exchange, sorted(EXCHANGE_FIELDS))
    audit_record(
        actor=user,
        action="exchange.remove",
        obj=exchange,
        changes={name: [value, None] for name, value in before.items()},
    )
    try:
        with transaction.atomic():
            exchange.delete()
    except ProtectedError:
        raise _invalid_transition(
            gettext("This exchange has records filed under it (documents): it cannot be removed.")
        ) from None


# --- Disbursements -------------------------------------------------------------------------


def disbursement_check(*, grant: Grant, user) -> None:
    """403 unless a fund manager; 409 ``invalid_transition`` unless the grant is approved
    or completed. Run by the API before reading the body, and again under the grant's
    row lock by ``disbursement_record``."""
    require(can_disburse(user, grant))
    if grant.status not in DISBURSABLE_STATUSES:
        raise _invalid_transition(
            gettext(
                "Money is disbursed only on approved or completed grants; this one is %(status)s."
            )
            % {"status": grant.status}
        )


def _validate_disbursement(amount_usd: Decimal, disbursed_on: date) -> None:
    """Money paid out is positive and paid by now: a disbursement dated in the future is
    a 400 on ``disbursed_on`` (a payment to come is not a disbursement)."""
    errors = {}
    if amount_usd <= 0:
        errors["amount_usd"] = [gettext("Must be greater than zero.")]
    today = timezone.localdate()
    if disbursed_on > today:
        errors["disbursed_on"] = [
            gettext("A disbursement cannot be dated in the future (after %(today)s).")
            % {"today": f"{today:%Y-%m-%d}"}
        ]
    if errors:
        raise ValidationError(errors)


DISBURSEMENT_FIELDS = ("grant", "amount_usd", "disbursed_on", "purpose", "reverses", "reason")


def disbursement_amount_check(*, grant: Grant, amount_usd: Decimal) -> None:
    """The bound of a disbursement: at most the grant's undisbursed commitment (409
    ``over_disbursement``); that it is more than zero is ``_validate_disbursement``'s rule
    (and the database's ``disbursement_amount_positive``), which both callers run first.
    ``disbursement_record`` checks it under the grant's row lock; ``grants_record_past``
    on each past grant as it replays."""
    if amount_usd > grant.undisbursed_usd:
        raise ApplicationError(
            gettext("Only %(undisbursed_usd)s USD of this grant is left to disburse.")
            % {"undisbursed_usd": f"{grant.undisbursed_usd:,.2f}"},
            code="over_disbursement",
        )


@transaction.atomic
def disbursement_record(
    *, grant: Grant, user, amount_usd: Decimal, disbursed_on: date, purpose: str = ""
) -> Disbursement:
    """Pay out of an approved (or completed) grant; never beyond its undisbursed
    commitment (409 ``over_disbursement``), checked under the grant's row lock.

    Locks, in the order every money movement on a grant takes them: the grant's row,
    then the fund's ledger row (``fund_disburse``)."""
    grant = Grant.objects.select_for_update().get(pk=grant.pk)
    disbursement_check(grant=grant, user=user)
    _validate_disbursement(amount_usd, disbursed_on)
    disbursement_amount_check(grant=grant, amount_usd=amount_usd)
    disbursement = Disbursement.objects.create(
        grant=grant,
        amount_usd=amount_usd,
        disbursed_on=disbursed_on,
        purpose=purpose,
        recorded_by=user,
    )
    Grant.objects.filter(pk=grant.pk).update(disbursed_usd=F("disbursed_usd") + amount_usd)
    fund_disburse(amount_usd=amount_usd, window_id=grant.window_id)
    audit_record(
        actor=user,
        action="disbursement.record",
        obj=disbursement,
        changes=created(disbursement, DISBURSEMENT_FIELDS),
    )
    disbursement_recorded.send(sender=Grant, grant=grant, disbursement=disbursement, user=user)
    return disbursement


@transaction.atomic
def disbursement_reverse(*, disbursement: Disbursement, user, reason: str) -> Disbursement:
    """Correct a disbursement: a reversing entry with its exact negative amount, dated
    today, recorded by ``user`` with a required ``reason``; it lowers the grant's
    ``disbursed_usd`` and the fund's disbursed money in the same transaction. The
    commitment stays: the money is again the grant's to disburse.

    Refused as ``disbursement_record`` is (403 unless a fund manager, 409
    ``invalid_transition`` unless the grant is approved or completed: a closed or
    cancelled grant released what it did not spend), and for a reversal or an entry
    reversed already (409 ``invalid_transition``; the database's unique ``reverses``
    holds it too).

    Locks in ``disbursement_record``'s order: the grant's row, then the fund's ledger
    row; the disbursement is read again under the first.
    """
    grant = Grant.objects.select_for_update().get(pk=disbursement.grant_id)
    disbursement_check(grant=grant, user=user)
    reason = validate_reason(reason)
    disbursement = Disbursement.objects.get(pk=disbursement.pk)
    reversal_check(disbursement, name="disbursement")
    reversal = Disbursement.objects.create(
        grant=grant,
        amount_usd=-disbursement.amount_usd,
        disbursed_on=timezone.localdate(),
        recorded_by=user,
        reverses=disbursement,
        reason=reason,
    )
    Grant.objects.filter(pk=grant.pk).update(
        disbursed_usd=F("disbursed_usd") - disbursement.amount_usd
    )
    fund_undisburse(amount_usd=disbursement.amount_usd, window_id=grant.window_id)
    audit_record(
        actor=user,
        action="disbursement.reverse",
        obj=reversal,
        changes=created(reversal, DISBURSEMENT_FIELDS),
        reason=reason,
    )
    return reversal


# --- The fund's past, in batches (the importer) ------------------------------------------


@dataclass
class PastStep:
    """One step of a past grant's life: a workflow action (``approve``...), an
    ``exchange`` or a ``disbursement`` (``inputs``: the fields of ``exchange_create`` or
    ``disbursement_record``), or a ``check`` (``inputs["check"](grant)``: a rule of an app
    above grants, such as the completion report's, run at that point of the life)."""

    kind: str
    user: object
    at: datetime
    comment: str = ""
    inputs: dict = field(default_factory=dict)


@dataclass
class PastGrant:
    """A grant of the fund's past, its whole life: ``grant_create``'s fields, then its
    steps in order. ``report``: its unsaved completion report, which the workflow's
    guards read (results writes it). After ``grants_record_past``: ``grant`` and the
    money its steps moved (``committed``, ``released``, ``disbursed``)."""

    leader: object
    fields: dict
    reference: str
    created_at: datetime
    steps: list
    recipients_required: bool = True
    report: object = None
    origin: object = None
    grant: Grant | None = None
    committed: Decimal = Decimal("0.00")
    released: Decimal = Decimal("0.00")
    disbursed: Decimal = Decimal("0.00")


class _Tally:
    """A ledger that counts what one grant's effects move (``workflow.Step.ledger``)."""

    def __init__(self, record: PastGrant):
        self.record = record

    def commit(self, amount, step=None) -> None:
        self.record.committed += amount

    def release(self, amount, step=None) -> None:
        self.record.released += amount


def _live(record: PastGrant, history: list, exchanges: list, disbursements: list) -> None:
    """Apply a past grant's steps to it in memory, by the rules the services apply one
    at a time: ``grant_create``'s, then for each action the workflow's rule, status and
    guards (``workflow.evaluate``) and its effect (money counted, not moved), for an
    exchange ``exchange_check`` and its rules, for a disbursement ``disbursement_check``
    and the undisbursed commitment."""
    grant, m2m = _proposal_grant(
        record.leader,
        record.fields,
        recipients_required=record.recipients_required,
        today=timezone.localdate(record.created_at),
    )
    grant.reference = record.reference
    grant.created_at = record.created_at
    grant.updated_at = record.created_at
    if record.report is not None:
        Grant.completion_report.related.set_cached_value(grant, record.report)
    record.grant = grant
    record.m2m = m2m
    # What the workflow's endorsement guard reads of an unsaved grant: its facilitating
    # partners are its facilitator roles (see grants_record_past), and its providers.
    grant._partner_facts = (
        [("facilitator", p.kind) for p in dict.fromkeys(m2m["facilitating_partners"])],
        bool(m2m["provider_countries"]),
    )
    # What the funding window's guards read of it (``workflow._window_fit``).
    grant._recipient_regions = {c.code: c.region for c in m2m["recipient_countries"]}
    # History rows as (grant, at, actor, action, from, to, comment): written as plain rows.
    history.append((grant, record.created_at, record.leader, "create", "", grant.status, ""))
    tally = _Tally(record)
    for step in record.steps:
        if step.kind == "check":
            step.inputs["check"](grant)
        elif step.kind == "exchange":
            exchange_check(grant=grant, user=step.user)
            data = {
                "provider_countries": [],
                "recipient_countries": [],
                "location": "",
                "participants": 0,
                "women_participants": 0,
                **step.inputs,
            }
            _validate_exchange(data)
            exchanges.append((grant, data))
        elif step.kind == "disbursement":
            disbursement_check(grant=grant, user=step.user)
            amount = step.inputs["amount_usd"]
            _validate_disbursement(amount, step.inputs["disbursed_on"])
            disbursement_amount_check(grant=grant, amount_usd=amount)
            grant.disbursed_usd += amount
            record.disbursed += amount
            disbursements.append(
                Disbursement(
                    grant=grant,
                    amount_usd=amount,
                    disbursed_on=step.inputs["disbursed_on"],
                    purpose=step.inputs.get("purpose", ""),
                    recorded_by=step.user,
                )
            )
        else:
            action = _action(step.kind)
            # The guards judge the step at its date (a window's dates at submission).
            grant._past_at = step.at
            require(workflow.evaluate(action, step.user, grant))
            from_status = grant.status
            live = workflow.Step(
                grant=grant,
                user=step.user,
                now=step.at,
                inputs=step.inputs,
                ledger=tally,
                deferred=True,
            )
            if action.target is not None:
                live.set(status=action.target)
            if action.effect is not None:
                action.effect(live)
            grant.updated_at = step.at
            row = (grant, step.at, step.user, step.kind, from_status, grant.status)
            history.append((*row, step.comment or ""))
            grant.note_move(grant.status, step.at)


@transaction.atomic
def grants_record_past(*, records: list[PastGrant]) -> list[PastGrant]:
    """Record grants of the fund's past, each with its whole life, in bulk: the importer's
    way to thousands of grants in seconds, by the same rules as ``grant_create``,
    ``grant_transition``, ``exchange_create`` and ``disbursement_record`` (each step checked
    in memory, in order, by ``_live``), written with one statement per table: the grants
    (their references kept, the years' counters raised past them), their countries and
    partners, every history row at its time, the exchanges and the disbursements.

    The money is counted, not moved: each record says what its approval ``committed``,
    what its cancelling or closing ``released`` and what it ``disbursed``; the caller moves
    the fund's ledger (``partners.services`` ``fund_commit``, ``fund_release``,
    ``fund_disburse``, each under the ledger's lock) in date order in the same
    transaction, and its CHECKs hold. A refusal raises the rule's error with ``record``
    (the PastGrant) on it; the transaction is rolled back.
    """
    references = [r.reference for r in records]
    taken = set(Grant.objects.filter(reference__in=references).values_list("reference", flat=True))
    history, exchanges, disbursements = [], [], []
    for record in records:
        try:
            if not REFERENCE_PATTERN.fullmatch(record.reference or ""):
                raise ValidationError(
                    {"reference": [gettext("A grant reference is SEETF-YYYY-NNNN.")]}
                )
            if record.reference in taken:
                raise ValidationError(
                    {
                        "reference": [
                            gettext("A grant %(reference)s exists already.")
                            % {"reference": record.reference}
                        ]
                    }
                )
            taken.add(record.reference)
            _live(record, history, exchanges, disbursements)
        except (ValidationError, ApplicationError) as exc:
            exc.record = record
            raise
    grants = [r.grant for r in records]
    # The grants and exchanges as instances (their keys come back for the rows that name
    # them); the association rows and the history as plain rows (``insert_rows``).
    with explicit_timestamps(Grant, Exchange):
        Grant.objects.bulk_create(grants, batch_size=2000)
        for name in M2M_FIELDS:
            through = getattr(Grant, name).through
            target = "country_id" if name != "facilitating_partners" else "partner_id"
            insert_rows(
                through,
                ["grant_id", target],
                ((r.grant.pk, value.pk) for r in records for value in r.m2m[name]),
            )
        # The facilitating partners are the facilitator roles (as ``_write_roles`` keeps them).
        insert_rows(
            GrantPartnerRole,
            ["grant_id", "partner_id", "role", "cofinancing_usd"],
            (
                (r.grant.pk, partner.pk, PartnerRole.FACILITATOR, None)
                for r in records
                for partner in dict.fromkeys(r.m2m["facilitating_partners"])
            ),
        )
        insert_rows(
            GrantHistory,
            ["grant_id", "at", "actor_id", "action", "from_status", "to_status", "comment"],
            (
                (grant.pk, at, getattr(actor, "pk", None), action, from_status, to_status, comment)
                for grant, at, actor, action, from_status, to_status, comment in history
            ),
        )
        made = []
        for grant, data in exchanges:
            providers = data.pop("provider_countries")
            recipients = data.pop("recipient_countries")
            made.append(
                (
                    Exchange(
                        grant_id=grant.pk,
                        created_at=grant.created_at,
                        updated_at=grant.updated_at,
                        **data,
                    ),
                    providers,
                    recipients,
                )
            )
        Exchange.objects.bulk_create([e for e, _, _ in made], batch_size=2000)
        for name, index in (("provider_countries", 1), ("recipient_countries", 2)):
            insert_rows(
                getattr(Exchange, name).through,
                ["exchange_id", "country_id"],
                ((e[0].pk, c.pk) for e in made for c in e[index]),
            )
    for d in disbursements:
        d.grant_id = d.grant.pk
    Disbursement.objects.bulk_create(disbursements, batch_size=2000)
    highest: dict[int, str] = {}
    for reference in references:
        match = REFERENCE_PATTERN.fullmatch(reference)
        year = int(match.group(1))
        if year not in highest or int(match.group(2)) > int(
            REFERENCE_PATTERN.fullmatch(highest[year]).group(2)
        ):
            highest[year] = reference
    for reference in highest.values():
        reference_reserve(reference)
    return records
