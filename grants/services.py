"""Writes for grants: proposals, the workflow, exchanges and disbursements.

Every state change goes through ``grant_transition``, which checks the rule, the
current status (under the grant's row lock), saves with ``update_fields`` and writes
the history row, all in one transaction. Money moves through the fund's ledger
(``partners.services.fund_*``), whose row lock serialises every movement.
"""

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit.services import audit_record
from partners.models import Country, Partner, PartnerKind, Sector
from partners.roles import is_fund_manager
from partners.services import fund_disburse, fund_undisburse, reversal_check, validate_reason
from seetf.common.errors import ApplicationError
from seetf.common.money import is_whole_cents
from seetf.common.rules import require

from . import workflow
from .models import (
    MAX_GRANT_USD,
    CapacityOutcome,
    Disbursement,
    Exchange,
    Grant,
    GrantHistory,
    GrantPartnerRole,
    PartnerRole,
)
from .permissions import (
    can_create_grant,
    can_disburse,
    can_edit_grant,
    can_record_exchange,
    is_leader_of,
)
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
    "partner_roles",
    "recipient_endorsed_on",
}
M2M_FIELDS = {"recipient_countries", "provider_countries", "facilitating_partners"}
MAX_PARTNER_ROLES = 20


def _invalid_transition(message: str):
    return ApplicationError(message, code="invalid_transition")


def _record(grant: Grant, *, actor, action: str, from_status: str, comment: str = "") -> None:
    GrantHistory.objects.create(
        grant=grant,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=grant.status,
        comment=comment or "",
    )


# --- Proposals ----------------------------------------------------------------------------


def _validate_proposal(data: dict) -> None:
    """The rules a proposal must meet, each a 400 naming its field."""
    errors: dict[str, list[str]] = {}
    requested = data.get("requested_usd")
    if requested is not None:
        if requested <= 0:
            errors["requested_usd"] = ["Must be greater than zero."]
        elif requested > MAX_GRANT_USD:
            errors["requested_usd"] = [f"Must be at most {MAX_GRANT_USD:,}."]
        elif not is_whole_cents(requested):
            errors["requested_usd"] = ["Use at most two decimal places."]
    start, end = data.get("planned_start"), data.get("planned_end")
    if start and end and end < start:
        errors["planned_end"] = ["The planned end cannot be before the planned start."]
    recipients = data.get("recipient_countries")
    if recipients is not None and len(recipients) == 0:
        errors["recipient_countries"] = ["Name at least one recipient country."]
    providers = data.get("provider_countries") or []
    both = sorted({c.code for c in providers} & {c.code for c in recipients or []})
    if both:
        errors["provider_countries"] = [
            f"A country cannot both provide and receive in one grant: {', '.join(both)}."
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
            f"Facilitating partners are traditional donors; not: {', '.join(not_donors)}."
        ]
    role_errors = _partner_role_errors(data.get("partner_roles") or [])
    if role_errors:
        errors["partner_roles"] = role_errors
    endorsed = data.get("recipient_endorsed_on")
    if endorsed is not None and endorsed > timezone.localdate():
        errors["recipient_endorsed_on"] = ["The endorsement cannot be in the future."]
    if errors:
        raise ValidationError(errors)


def _partner_role_errors(roles: list[dict]) -> list[str]:
    """What is wrong with a list of partner roles ({partner, role, cofinancing_usd})."""
    errors = []
    if len(roles) > MAX_PARTNER_ROLES:
        return [f"At most {MAX_PARTNER_ROLES} partner roles."]
    seen = set()
    for item in roles:
        partner, role, amount = item["partner"], item["role"], item.get("cofinancing_usd")
        if (partner.pk, role) in seen:
            errors.append(f"{partner.code} holds the role {role} twice.")
        seen.add((partner.pk, role))
        if role == PartnerRole.COFINANCIER:
            if amount is None or amount <= 0:
                errors.append(f"Give what {partner.code} co-finances (cofinancing_usd).")
            elif not is_whole_cents(amount):
                errors.append("Use at most two decimal places in cofinancing_usd.")
        elif amount is not None:
            errors.append(f"Only a cofinancier has cofinancing_usd ({partner.code} is {role}).")
        if role == PartnerRole.FACILITATOR and partner.kind != PartnerKind.TRADITIONAL_DONOR:
            errors.append(f"Facilitators are traditional donors; not: {partner.code}.")
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
                            "Must name the partners of partner_roles with the facilitator "
                            "role (or leave it out)."
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
    sector: Sector,
    region: str,
    recipient_countries: list[Country],
    requested_usd: Decimal,
    planned_start: date,
    planned_end: date,
    summary: str = "",
    provider_countries: list[Country] = (),
    facilitating_partners: list[Partner] = (),
    development_goal: str = "",
    targeted_outcomes: list[str] = (),
    partner_roles: list[dict] | None = None,
    recipient_endorsed_on: date | None = None,
) -> Grant:
    """A task team leader drafts a proposal; it stays private to them until submitted.

    ``partner_roles`` ({partner, role, cofinancing_usd}) says who plays which part;
    ``facilitating_partners`` alone (existing clients) is the facilitator roles."""
    require(can_create_grant(leader))
    roles = _merge_roles(
        {"partner_roles": partner_roles, "facilitating_partners": list(facilitating_partners)},
        [],
    )
    data = {
        "title": title,
        "summary": summary,
        "sector": sector,
        "region": region,
        "recipient_countries": list(recipient_countries),
        "provider_countries": list(provider_countries),
        "facilitating_partners": list(facilitating_partners),
        "requested_usd": requested_usd,
        "development_goal": development_goal,
        "targeted_outcomes": list(targeted_outcomes),
        "planned_start": planned_start,
        "planned_end": planned_end,
        "partner_roles": roles,
        "recipient_endorsed_on": recipient_endorsed_on,
    }
    _validate_proposal(data)
    data.pop("partner_roles")
    data.pop("facilitating_partners")
    m2m = {name: data.pop(name) for name in M2M_FIELDS - {"facilitating_partners"}}
    data["targeted_outcomes"] = sorted(set(data["targeted_outcomes"]))
    grant = Grant(task_team_leader=leader, **data)
    grant.completion_report_due = grant.compute_completion_report_due()
    grant.save()
    for name, values in m2m.items():
        getattr(grant, name).set(values)
    _write_roles(grant, roles, actor=leader, before=[])
    _record(grant, actor=leader, action="create", from_status="")
    return grant


def grant_update_check(*, grant: Grant, user) -> None:
    """403 unless the user leads the grant; 409 ``invalid_transition`` unless it is a
    draft or returned. The API runs it before reading the request's body (a user who
    may not edit gets 403, not a 400 about the form); ``grant_update`` runs it again
    under the row lock."""
    require(can_edit_grant(user, grant))
    if grant.status not in EDITABLE_STATUSES:
        raise _invalid_transition(
            f"A grant is edited only while draft or returned; this one is {grant.status}."
        )


@transaction.atomic
def grant_update(*, grant: Grant, user, **fields) -> Grant:
    """The leader edits the proposal while it is a draft or returned (else 409)."""
    unknown = set(fields) - PROPOSAL_FIELDS
    if unknown:
        raise ValueError(f"grant_update() cannot set {', '.join(sorted(unknown))}")
    grant = Grant.objects.select_for_update().get(pk=grant.pk)
    grant_update_check(grant=grant, user=user)
    merged = {
        "requested_usd": grant.requested_usd,
        "planned_start": grant.planned_start,
        "planned_end": grant.planned_end,
        "targeted_outcomes": grant.targeted_outcomes,
        "recipient_countries": list(grant.recipient_countries.all()),
        "provider_countries": list(grant.provider_countries.all()),
        "facilitating_partners": list(grant.facilitating_partners.all()),
        **fields,
    }
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
        raise _invalid_transition(f"Unknown action {name!r}.")
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
def grant_transition(*, grant: Grant, user, action: str, comment: str = "", **inputs) -> Grant:
    """Apply one workflow action to a grant: the one place any action is taken.

    Under the grant's row lock (two decisions on one grant cannot interleave): the
    action's rule, status and guards (``grant_transition_check``), then its effect (which
    may move money: approving commits it, 409 ``insufficient_funds`` beyond what is
    available; cancelling and closing release what will not be spent), the save of the
    fields it set, and the history row, all in one transaction.
    """
    step_action = _action(action)
    grant = Grant.objects.select_for_update().get(pk=grant.pk)
    grant_transition_check(grant=grant, user=user, action=action)

    from_status = grant.status
    step = workflow.Step(grant=grant, user=user, now=timezone.now(), inputs=inputs)
    if step_action.target is not None:
        step.set(status=step_action.target)
    if step_action.effect is not None:
        step_action.effect(step)
    if step.fields:
        grant.save(update_fields=[*step.fields, "updated_at"])
    _record(grant, actor=user, action=action, from_status=from_status, comment=comment)
    return grant


def grant_record_event(*, grant: Grant, user, action: str, comment: str = "") -> None:
    """A history row that is not a workflow action (e.g. a correction of an earlier
    comment); the caller holds the grant's lock in its transaction."""
    _record(grant, actor=user, action=action, from_status=grant.status, comment=comment)


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
            f"Exchanges cannot be recorded on a grant that is {grant.status}."
        )


def _validate_exchange(data: dict) -> None:
    errors = {}
    if data["end_date"] < data["start_date"]:
        errors["end_date"] = ["An exchange cannot end before it starts."]
    if data["women_participants"] > data["participants"]:
        errors["women_participants"] = ["Cannot be more than the participants."]
    both = {c.code for c in data["provider_countries"]} & {
        c.code for c in data["recipient_countries"]
    }
    if both:
        errors["provider_countries"] = [
            f"A country cannot both provide and receive: {', '.join(sorted(both))}."
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
    return exchange


@transaction.atomic
def exchange_update(*, exchange: Exchange, user, **fields) -> Exchange:
    unknown = set(fields) - EXCHANGE_FIELDS
    if unknown:
        raise ValueError(f"exchange_update() cannot set {', '.join(sorted(unknown))}")
    grant = Grant.objects.select_for_update().get(pk=exchange.grant_id)
    exchange_check(grant=grant, user=user)
    data = {
        "start_date": exchange.start_date,
        "end_date": exchange.end_date,
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
    return exchange


# --- Disbursements -------------------------------------------------------------------------


def disbursement_check(*, grant: Grant, user) -> None:
    """403 unless a fund manager; 409 ``invalid_transition`` unless the grant is approved
    or completed. Run by the API before reading the body, and again under the grant's
    row lock by ``disbursement_record``."""
    require(can_disburse(user, grant))
    if grant.status not in DISBURSABLE_STATUSES:
        raise _invalid_transition(
            f"Money is disbursed only on approved or completed grants; this one is {grant.status}."
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
    if amount_usd <= 0:
        raise ValidationError({"amount_usd": ["Must be greater than zero."]})
    if amount_usd > grant.undisbursed_usd:
        raise ApplicationError(
            f"Only {grant.undisbursed_usd:,.2f} USD of this grant is left to disburse.",
            code="over_disbursement",
        )
    disbursement = Disbursement.objects.create(
        grant=grant,
        amount_usd=amount_usd,
        disbursed_on=disbursed_on,
        purpose=purpose,
        recorded_by=user,
    )
    Grant.objects.filter(pk=grant.pk).update(disbursed_usd=F("disbursed_usd") + amount_usd)
    fund_disburse(amount_usd=amount_usd)
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
    fund_undisburse(amount_usd=disbursement.amount_usd)
    return reversal
