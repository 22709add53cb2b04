"""What the grant workflow tells collaboration (``grants.signals``), turned into
notifications inside the transaction of the change: a change that rolls back leaves
none, and their e-mails are queued only once it commits (``services.notify``)."""

from django.utils.formats import number_format

from . import selectors, services
from .models import NotificationKind as K


def _usd(amount) -> str:
    return number_format(amount, 2, force_grouping=True)


def _said(comment: str) -> str:
    return f' Their comment: "{comment}"' if comment else ""


def _submitted(grant, user, comment, inputs, from_status):
    again = "resubmitted" if from_status == "returned" else "submitted"
    users = [*selectors.fund_managers(), *selectors.window_approvers(grant)]
    text = (
        f"{grant.task_team_leader.get_username()} {again} the proposal "
        f"{services.grant_label(grant)}, asking for {_usd(grant.requested_usd)} USD."
        + _said(comment)
    )
    return K.SUBMITTED, users, text, ""


def _decided(kind, verb):
    def build(grant, user, comment, inputs, from_status):
        text = f"{services.grant_label(grant)} was {verb} by {user.get_username()}." + _said(
            comment
        )
        return kind, [grant.task_team_leader], text, ""

    return build


def _approved(grant, user, comment, inputs, from_status):
    amount = grant.approved_usd if grant.approved_usd is not None else inputs.get("approved_usd")
    text = (
        f"{services.grant_label(grant)} was approved for {_usd(amount)} USD by "
        f"{user.get_username()}." + _said(comment)
    )
    return K.APPROVED, [grant.task_team_leader], text, ""


def _report_submitted(grant, user, comment, inputs, from_status):
    text = (
        f"{user.get_username()} submitted the completion report of "
        f"{services.grant_label(grant)}; it waits for a fund manager to accept it."
    )
    return K.REPORT_SUBMITTED, list(selectors.fund_managers()), text, "report/"


def _report_accepted(grant, user, comment, inputs, from_status):
    text = (
        f"The completion report of {services.grant_label(grant)} was accepted by "
        f"{user.get_username()}."
    )
    return K.REPORT_ACCEPTED, [grant.task_team_leader], text, "report/"


# workflow action -> what to tell whom; the actions not named here tell nobody.
TRANSITIONS = {
    "submit": _submitted,
    "return": _decided(K.RETURNED, "returned for revision"),
    "reject": _decided(K.REJECTED, "rejected"),
    "approve": _approved,
    "complete": _report_submitted,
    "accept-report": _report_accepted,
}


def on_grant_transitioned(
    sender, *, grant, user, action, from_status, comment="", inputs=None, past=False, **_
):
    """A workflow action (``grants.signals.grant_transitioned``). The importer's
    decisions of the past (``past``) tell nobody."""
    build = TRANSITIONS.get(action)
    if past or build is None:
        return
    kind, users, text, anchor = build(grant, user, comment or "", inputs or {}, from_status)
    services.notify(
        users=users,
        kind=kind,
        grant=grant,
        text=text,
        path=services.grant_path(grant, anchor),
        actor=user,
    )


def on_disbursement_recorded(sender, *, grant, disbursement, user, **_):
    """A disbursement (``grants.signals.disbursement_recorded``): its grant's leader."""
    text = (
        f"{_usd(disbursement.amount_usd)} USD was disbursed from {services.grant_label(grant)} "
        f"on {disbursement.disbursed_on:%Y-%m-%d}."
    )
    services.notify(
        users=[grant.task_team_leader],
        kind=K.DISBURSEMENT,
        grant=grant,
        text=text,
        path=services.grant_path(grant, "#disbursements"),
        actor=user,
    )
