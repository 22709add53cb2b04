"""What the grant workflow tells collaboration (``grants.signals``), turned into
notifications inside the transaction of the change: a change that rolls back leaves
none, and their e-mails are queued only once it commits (``services.notify``).

Each text is a function of no arguments, called by ``services.notify`` once per language
of its recipients (each reads it, and its amounts, in their own)."""

from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _

from . import selectors, services
from .models import NotificationKind as K


def _usd(amount) -> str:
    return number_format(amount, 2, force_grouping=True)


def _said(comment: str) -> str:
    return _(' Their comment: "%(comment)s"') % {"comment": comment} if comment else ""


def _submitted(grant, user, comment, inputs, from_status):
    users = [*selectors.fund_managers(), *selectors.window_approvers(grant)]
    values = {
        "leader": grant.task_team_leader.get_username(),
        "grant": services.grant_label(grant),
        "amount": grant.requested_usd,
    }

    def text():
        if from_status == "returned":
            said = _("%(leader)s resubmitted the proposal %(grant)s, asking for %(amount)s USD.")
        else:
            said = _("%(leader)s submitted the proposal %(grant)s, asking for %(amount)s USD.")
        return said % {**values, "amount": _usd(values["amount"])} + _said(comment)

    return K.SUBMITTED, users, text, ""


def _returned(grant, user, comment, inputs, from_status):
    values = {"grant": services.grant_label(grant), "user": user.get_username()}

    def text():
        return _("%(grant)s was returned for revision by %(user)s.") % values + _said(comment)

    return K.RETURNED, [grant.task_team_leader], text, ""


def _rejected(grant, user, comment, inputs, from_status):
    values = {"grant": services.grant_label(grant), "user": user.get_username()}

    def text():
        return _("%(grant)s was rejected by %(user)s.") % values + _said(comment)

    return K.REJECTED, [grant.task_team_leader], text, ""


def _approved(grant, user, comment, inputs, from_status):
    amount = grant.approved_usd if grant.approved_usd is not None else inputs.get("approved_usd")
    values = {
        "grant": services.grant_label(grant),
        "amount": amount,
        "user": user.get_username(),
    }

    def text():
        said = _("%(grant)s was approved for %(amount)s USD by %(user)s.")
        return said % {**values, "amount": _usd(values["amount"])} + _said(comment)

    return K.APPROVED, [grant.task_team_leader], text, ""


def _report_submitted(grant, user, comment, inputs, from_status):
    values = {"user": user.get_username(), "grant": services.grant_label(grant)}

    def text():
        return (
            _(
                "%(user)s submitted the completion report of %(grant)s; it waits for a fund "
                "manager to accept it."
            )
            % values
        )

    return K.REPORT_SUBMITTED, list(selectors.fund_managers()), text, "report/"


def _report_accepted(grant, user, comment, inputs, from_status):
    values = {"grant": services.grant_label(grant), "user": user.get_username()}

    def text():
        return _("The completion report of %(grant)s was accepted by %(user)s.") % values

    return K.REPORT_ACCEPTED, [grant.task_team_leader], text, "report/"


# workflow action -> what to tell whom; the actions not named here tell nobody.
TRANSITIONS = {
    "submit": _submitted,
    "return": _returned,
    "reject": _rejected,
    "approve": _approved,
    "complete": _report_submitted,
    "accept-report": _report_accepted,
}


def on_grant_transitioned(
    sender, *, grant, user, action, from_status, comment="", inputs=None, past=False, **extra
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


def on_disbursement_recorded(sender, *, grant, disbursement, user, **extra):
    """A disbursement (``grants.signals.disbursement_recorded``): its grant's leader."""
    values = {
        "amount": disbursement.amount_usd,
        "grant": services.grant_label(grant),
        "day": disbursement.disbursed_on,
    }

    def text():
        said = _("%(amount)s USD was disbursed from %(grant)s on %(day)s.")
        return said % {
            **values,
            "amount": _usd(values["amount"]),
            "day": date_format(values["day"], "SHORT_DATE_FORMAT"),
        }

    services.notify(
        users=[grant.task_team_leader],
        kind=K.DISBURSEMENT,
        grant=grant,
        text=text,
        path=services.grant_path(grant, "#disbursements"),
        actor=user,
    )
