"""Writes for partners, contributions, receipts, users, and the fund's ledger."""

import logging
from datetime import date, datetime
from decimal import Decimal

import pycountry
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext
from rest_framework.authtoken.models import Token

from audit.services import audit_record, created, diff, snapshot
from seetf.common.errors import ApplicationError
from seetf.common.models import explicit_timestamps
from seetf.common.money import is_whole_cents
from seetf.common.rules import require

from .models import (
    MAX_AMOUNT,
    REASON_MAX_LENGTH,
    Contribution,
    Country,
    Fund,
    Partner,
    PartnerMembership,
    Receipt,
    Sector,
    Window,
    WindowApprover,
    WindowMovement,
    WindowMovementKind,
    WindowStatus,
)
from .permissions import can_manage_windows, can_record_money_in
from .roles import Role
from .signals import fund_moved

logger = logging.getLogger(__name__)

# --- Validation shared by the services ------------------------------------------------


def validate_currency(code: str) -> str:
    code = (code or "").upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise ValidationError(
            {"currency": [gettext("'%(code)s' is not an ISO 4217 currency code.") % {"code": code}]}
        )
    return code


def _validate_amount(field: str, value: Decimal) -> Decimal:
    if value is None or value <= 0:
        raise ValidationError({field: [gettext("Must be greater than zero.")]})
    if value > MAX_AMOUNT:
        raise ValidationError(
            {
                field: [
                    gettext("Must be at most %(max_amount)s.") % {"max_amount": f"{MAX_AMOUNT:,}"}
                ]
            }
        )
    if not is_whole_cents(value):
        raise ValidationError({field: [gettext("Use at most two decimal places.")]})
    return value


# Money recorded before the oldest trust fund of this kind, or in the future, is a typo.
EARLIEST_DATE = date(1990, 1, 1)


def _validate_recorded_date(field: str, value: date) -> None:
    if value < EARLIEST_DATE:
        raise ValidationError(
            {
                field: [
                    gettext("Must be on or after %(earliest_date)s.")
                    % {"earliest_date": f"{EARLIEST_DATE:%Y-%m-%d}"}
                ]
            }
        )
    if value > timezone.localdate():
        raise ValidationError(
            {field: [gettext("Money cannot be recorded as received in the future.")]}
        )


# --- The fund's ledger ---------------------------------------------------------------------


def fund_lock() -> Fund:
    """Lock the fund's ledger row until the transaction ends and return it.

    Every money movement takes this lock first, so two approvals (or an approval and
    a receipt) can never read the same available balance and both act on it. A
    movement of a funding window's money then locks the window's row
    (``window_lock``): always the fund first, then the window, so no two movements
    ever wait on each other in a circle.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("fund_lock() must run inside transaction.atomic().")
    fund, _ = Fund.objects.select_for_update().get_or_create(pk=1)
    return fund


def window_lock(window_id: int) -> Window:
    """Lock a funding window's row (after the fund's: ``fund_lock`` first) and return
    it as it is now."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("window_lock() must run inside transaction.atomic().")
    return Window.objects.select_for_update().get(pk=window_id)


def _fund_add(**deltas: Decimal) -> Fund:
    Fund.objects.filter(pk=1).update(**{name: F(name) + value for name, value in deltas.items()})
    # Money moved: the funding-balance check (grants, above this app) queues itself for
    # after this transaction commits.
    fund_moved.send(sender=Fund)
    return Fund.objects.get(pk=1)


def _window_add(window_id: int, **deltas: Decimal) -> None:
    Window.objects.filter(pk=window_id).update(
        **{name: F(name) + value for name, value in deltas.items()}, updated_at=timezone.now()
    )


def fund_credit(*, amount_usd: Decimal) -> Fund:
    """Money received: raises what the fund can commit."""
    fund_lock()
    return _fund_add(received_usd=amount_usd)


def _lock_available(amount_usd: Decimal, refused: str) -> Fund:
    """Lock the ledger; 409 ``insufficient_funds`` when ``amount_usd`` is beyond the
    available money (``refused`` says what could not be done with it)."""
    fund = fund_lock()
    if amount_usd > fund.available_usd:
        raise ApplicationError(
            gettext("The fund has %(available_usd)s USD available; %(amount_usd)s USD %(refused)s.")
            % {
                "available_usd": f"{fund.available_usd:,.2f}",
                "amount_usd": f"{amount_usd:,.2f}",
                "refused": refused,
            },
            code="insufficient_funds",
        )
    return fund


def _lock_window_available(window_id: int, amount_usd: Decimal, refused: str, code: str):
    """Lock the fund, then the window; 409 ``code`` when ``amount_usd`` is beyond the
    window's available money."""
    fund_lock()
    window = window_lock(window_id)
    if amount_usd > window.available_usd:
        raise ApplicationError(
            gettext(
                "The window %(code)s has %(available_usd)s USD available; "
                "%(amount_usd)s USD %(refused)s."
            )
            % {
                "code": window.code,
                "available_usd": f"{window.available_usd:,.2f}",
                "amount_usd": f"{amount_usd:,.2f}",
                "refused": refused,
            },
            code=code,
        )
    return window


def fund_commit(*, amount_usd: Decimal, window_id: int | None = None) -> Fund:
    """Commit money to a grant; refuses (409 ``insufficient_funds``) beyond what is
    available: the fund's, or for a grant in a funding window the window's. A window's
    commitment is the fund's too, taken from the money allocated to the window: the
    fund's committed money rises and its allocated money falls by the amount, so the
    fund's available money (received - committed - allocated) does not move."""
    if window_id is None:
        _lock_available(amount_usd, gettext("cannot be committed"))
        return _fund_add(committed_usd=amount_usd)
    _lock_window_available(
        window_id, amount_usd, gettext("cannot be committed"), "insufficient_funds"
    )
    _window_add(window_id, committed_usd=amount_usd)
    return _fund_add(committed_usd=amount_usd, allocated_usd=-amount_usd)


def fund_debit(*, amount_usd: Decimal) -> Fund:
    """Money received taken back (a reversed receipt); refuses (409
    ``insufficient_funds``) beyond what is available: money committed to grants stays
    covered by money received."""
    _lock_available(
        amount_usd, gettext("received cannot be taken back: committed money would be uncovered")
    )
    return _fund_add(received_usd=-amount_usd)


def fund_release(
    *,
    amount_usd: Decimal,
    window_id: int | None = None,
    by=None,
    reason: str = "",
    at: datetime | None = None,
) -> Fund:
    """Give back committed money that will not be spent (a cancelled or closed grant).

    A grant in a funding window gives it back to the window while the window is open
    (the fund's allocated money rises with it); once the window is closed, to the
    fund's available money, through the window: its allocated money falls as well, in
    a ``grant_return`` movement recorded by ``by`` with ``reason`` (``at``: its time, for
    a release of the past the importer replays; by default now)."""
    fund_lock()
    if window_id is None:
        return _fund_add(committed_usd=-amount_usd)
    window = window_lock(window_id)
    if window.status == WindowStatus.OPEN:
        _window_add(window_id, committed_usd=-amount_usd)
        return _fund_add(committed_usd=-amount_usd, allocated_usd=amount_usd)
    _window_add(window_id, committed_usd=-amount_usd, allocated_usd=-amount_usd)
    with explicit_timestamps(WindowMovement):
        movement = WindowMovement.objects.create(
            window=window,
            kind=WindowMovementKind.GRANT_RETURN,
            amount_usd=amount_usd,
            reason=reason[:REASON_MAX_LENGTH],
            recorded_by=by,
            created_at=at,
        )
    audit_record(
        actor=by,
        action="window.grant_return",
        obj=window,
        changes={
            "allocated_usd": [str(window.allocated_usd), str(window.allocated_usd - amount_usd)]
        },
        reason=movement.reason,
    )
    return _fund_add(committed_usd=-amount_usd)


def fund_disburse(*, amount_usd: Decimal, window_id: int | None = None) -> Fund:
    """Money paid out of committed money (and out of the window's, for its grants)."""
    fund_lock()
    if window_id is not None:
        window_lock(window_id)
        _window_add(window_id, disbursed_usd=amount_usd)
    return _fund_add(disbursed_usd=amount_usd)


def fund_undisburse(*, amount_usd: Decimal, window_id: int | None = None) -> Fund:
    """A disbursement reversed: the money counts as not paid out; it stays committed to
    its grant."""
    fund_lock()
    if window_id is not None:
        window_lock(window_id)
        _window_add(window_id, disbursed_usd=-amount_usd)
    return _fund_add(disbursed_usd=-amount_usd)


# --- Reversing entries ----------------------------------------------------------------------


def validate_reason(reason: str) -> str:
    """A reversing entry says why (400 on ``reason``)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [gettext("Say why this entry is reversed.")]})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            {
                "reason": [
                    gettext("Use at most %(reason_max_length)s characters.")
                    % {"reason_max_length": REASON_MAX_LENGTH}
                ]
            }
        )
    return reason


def reversal_check(entry, *, name: str) -> None:
    """409 ``invalid_transition`` when ``entry`` (a receipt or a disbursement, read under
    its parent's row lock) is a reversal itself or was reversed already."""
    if entry.reverses_id is not None:
        raise ApplicationError(
            gettext(
                "This %(name)s reverses %(name)s %(reverses_id)s; a reversal cannot be reversed."
            )
            % {"name": name, "reverses_id": entry.reverses_id},
            code="invalid_transition",
        )
    if type(entry).objects.filter(reverses=entry).exists():
        raise ApplicationError(
            gettext("This %(name)s was reversed already.") % {"name": name},
            code="invalid_transition",
        )


# --- Partners -------------------------------------------------------------------------------


PARTNER_FIELDS = ("code", "name", "kind", "country", "joined_on", "iati_org_ref", "iati_org_type")


@transaction.atomic
def partner_create(
    *,
    code: str,
    name: str,
    kind: str,
    country: Country | None = None,
    joined_on: date | None = None,
    iati_org_ref: str = "",
    iati_org_type: str = "",
    actor=None,
) -> Partner:
    """A partner of the fund (audited as ``partner.create``; ``actor`` is who records it,
    None for a loader or a job)."""
    partner = Partner(
        code=code,
        name=name,
        kind=kind,
        country=country,
        joined_on=joined_on,
        iati_org_ref=iati_org_ref,
        iati_org_type=iati_org_type,
    )
    partner.full_clean()
    partner.save()
    audit_record(
        actor=actor, action="partner.create", obj=partner, changes=created(partner, PARTNER_FIELDS)
    )
    return partner


@transaction.atomic
def partner_update(*, partner: Partner, actor=None, **fields) -> Partner:
    """Edit a partner; every field changed is audited before and after (``partner.update``)."""
    for name in fields:
        if name not in PARTNER_FIELDS:
            raise ValueError(f"partner_update() cannot set {name}")
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    before = snapshot(partner, PARTNER_FIELDS)
    for name, value in fields.items():
        setattr(partner, name, value)
    partner.full_clean()
    partner.save(update_fields=[*fields, "updated_at"])
    changes = diff(before, snapshot(partner, PARTNER_FIELDS))
    if changes:
        audit_record(actor=actor, action="partner.update", obj=partner, changes=changes)
    return partner


# --- Contributions and receipts -----------------------------------------------------------


def _validate_provider_activity_id(value: str) -> None:
    field = Contribution._meta.get_field("provider_activity_id")
    try:
        field.clean(value, None)
    except ValidationError as error:
        raise ValidationError({"provider_activity_id": error.messages}) from None


def _validate_period(period_start: date | None, period_end: date | None) -> None:
    if period_start and period_end and period_end < period_start:
        raise ValidationError({"period_end": [gettext("The period cannot end before it starts.")]})


@transaction.atomic
def contribution_create(
    *,
    partner: Partner,
    reference: str,
    currency: str,
    pledged_amount: Decimal,
    pledged_usd: Decimal | None = None,
    signed_on: date | None = None,
    period_start: date | None = None,
    period_end: date | None = None,
    provider_activity_id: str = "",
    actor=None,
) -> Contribution:
    """Record a pledge. For a USD pledge, ``pledged_usd`` is the amount itself. Audited
    (``contribution.create``) in the same transaction."""
    currency = validate_currency(currency)
    _validate_amount("pledged_amount", pledged_amount)
    if currency == "USD":
        if pledged_usd is not None and pledged_usd != pledged_amount:
            raise ValidationError(
                {"pledged_usd": [gettext("For a USD pledge it equals pledged_amount.")]}
            )
        pledged_usd = pledged_amount
    elif pledged_usd is None:
        raise ValidationError(
            {"pledged_usd": [gettext("Give the USD value of a pledge in another currency.")]}
        )
    _validate_amount("pledged_usd", pledged_usd)
    _validate_period(period_start, period_end)
    _validate_provider_activity_id(provider_activity_id)
    if Contribution.objects.filter(reference=reference).exists():
        raise ValidationError(
            {"reference": [gettext("A contribution with this reference exists.")]}
        )
    contribution = Contribution.objects.create(
        partner=partner,
        reference=reference,
        currency=currency,
        pledged_amount=pledged_amount,
        pledged_usd=pledged_usd,
        signed_on=signed_on,
        period_start=period_start,
        period_end=period_end,
        provider_activity_id=provider_activity_id,
    )
    audit_record(
        actor=actor,
        action="contribution.create",
        obj=contribution,
        changes=created(contribution, CONTRIBUTION_FIELDS),
    )
    return contribution


CONTRIBUTION_FIELDS = (
    "partner",
    "reference",
    "currency",
    "pledged_amount",
    "pledged_usd",
    "signed_on",
    "period_start",
    "period_end",
    "provider_activity_id",
)


@transaction.atomic
def contribution_update(*, contribution: Contribution, actor=None, **fields) -> Contribution:
    """Amend a pledge. It can never fall below what was already received, and its
    currency cannot change once money has been received in it. Every field changed
    (moving it to another partner included) is audited before and after
    (``contribution.update``)."""
    contribution = Contribution.objects.select_for_update().get(pk=contribution.pk)
    before = snapshot(contribution, CONTRIBUTION_FIELDS)
    for name in fields:
        if name not in CONTRIBUTION_FIELDS:
            raise ValueError(f"contribution_update() cannot set {name}")
    if "currency" in fields:
        fields["currency"] = validate_currency(fields["currency"])
        if fields["currency"] != contribution.currency and contribution.received_amount > 0:
            raise ValidationError(
                {"currency": [gettext("Money was received in this currency already.")]}
            )
    if (
        "reference" in fields
        and Contribution.objects.filter(reference=fields["reference"])
        .exclude(pk=contribution.pk)
        .exists()
    ):
        raise ValidationError(
            {"reference": [gettext("A contribution with this reference exists.")]}
        )
    for name, value in fields.items():
        setattr(contribution, name, value)
    _validate_amount("pledged_amount", contribution.pledged_amount)
    if contribution.currency == "USD":
        if "pledged_usd" in fields and contribution.pledged_usd != contribution.pledged_amount:
            raise ValidationError(
                {"pledged_usd": [gettext("For a USD pledge it equals pledged_amount.")]}
            )
        contribution.pledged_usd = contribution.pledged_amount
    _validate_amount("pledged_usd", contribution.pledged_usd)
    if contribution.pledged_amount < contribution.received_amount:
        raise ValidationError(
            {
                "pledged_amount": [
                    gettext(
                        "%(received_amount)s %(currency)s was received already; the pledge "
                        "cannot be smaller."
                    )
                    % {
                        "received_amount": f"{contribution.received_amount:,.2f}",
                        "currency": contribution.currency,
                    }
                ]
            }
        )
    if contribution.pledged_usd < contribution.received_usd:
        raise ValidationError(
            {
                "pledged_usd": [
                    gettext(
                        "%(received_usd)s USD was credited already; the pledge's USD value "
                        "cannot be smaller."
                    )
                    % {"received_usd": f"{contribution.received_usd:,.2f}"}
                ]
            }
        )
    _validate_period(contribution.period_start, contribution.period_end)
    _validate_provider_activity_id(contribution.provider_activity_id)
    contribution.save()
    changes = diff(before, snapshot(contribution, CONTRIBUTION_FIELDS))
    if changes:
        audit_record(actor=actor, action="contribution.update", obj=contribution, changes=changes)
    return contribution


RECEIPT_FIELDS = ("contribution", "amount", "usd_amount", "received_on", "reverses", "reason")


@transaction.atomic
def receipt_record(
    *,
    contribution: Contribution,
    amount: Decimal,
    received_on: date,
    usd_amount: Decimal | None = None,
    recorded_by=None,
) -> Receipt:
    """Record money paid in against a pledge, and credit the fund.

    Over all its receipts a contribution never receives more than its pledge, in its
    currency (400 on ``amount``) nor in USD: the USD credited stays within the pledge's
    USD value (400 on ``usd_amount``, naming that value and what is left); amending the
    pledge is the way to change either. The database checks both as well.

    Locks, in the order every money movement takes them: the contribution's row (two
    receipts for one pledge wait for each other, so together they cannot pass it), then
    the fund's ledger row (``fund_credit``).
    """
    _validate_amount("amount", amount)
    _validate_recorded_date("received_on", received_on)
    contribution = Contribution.objects.select_for_update().get(pk=contribution.pk)
    if contribution.currency == "USD":
        if usd_amount is not None and usd_amount != amount:
            raise ValidationError(
                {"usd_amount": [gettext("For a USD contribution it equals amount.")]}
            )
        usd_amount = amount
    elif usd_amount is None:
        raise ValidationError(
            {"usd_amount": [gettext("Give the USD credited for money in another currency.")]}
        )
    _validate_amount("usd_amount", usd_amount)
    outstanding = contribution.pledged_amount - contribution.received_amount
    if amount > outstanding:
        raise ValidationError(
            {
                "amount": [
                    gettext(
                        "Only %(outstanding)s %(currency)s of this pledge is outstanding; "
                        "amend the pledge first."
                    )
                    % {"outstanding": f"{outstanding:,.2f}", "currency": contribution.currency}
                ]
            }
        )
    usd_left = contribution.pledged_usd - contribution.received_usd
    if usd_amount > usd_left:
        raise ValidationError(
            {
                "usd_amount": [
                    gettext(
                        "The pledge is worth %(pledged_usd)s USD and %(usd_left)s USD of it "
                        "is left to credit; amend the pledge first."
                    )
                    % {
                        "pledged_usd": f"{contribution.pledged_usd:,.2f}",
                        "usd_left": f"{usd_left:,.2f}",
                    }
                ]
            }
        )
    receipt = Receipt.objects.create(
        contribution=contribution,
        amount=amount,
        usd_amount=usd_amount,
        received_on=received_on,
        recorded_by=recorded_by,
    )
    Contribution.objects.filter(pk=contribution.pk).update(
        received_amount=F("received_amount") + amount, received_usd=F("received_usd") + usd_amount
    )
    fund_credit(amount_usd=usd_amount)
    audit_record(
        actor=recorded_by,
        action="receipt.record",
        obj=receipt,
        changes=created(receipt, RECEIPT_FIELDS),
    )
    return receipt


def receipt_reverse_check(*, user) -> None:
    """403 unless the user may record money in (fund managers)."""
    require(can_record_money_in(user))


@transaction.atomic
def receipt_reverse(*, receipt: Receipt, user, reason: str) -> Receipt:
    """Correct a receipt: a reversing entry with its exact negative amounts, dated today,
    recorded by ``user`` with a required ``reason``; it lowers the contribution's
    received amounts and the fund's received money in the same transaction.

    Refused: by anyone but a fund manager (403); a reversal, or a receipt reversed
    already (409 ``invalid_transition``; the database's unique ``reverses`` holds it
    too); when the fund's available money would go below zero (409
    ``insufficient_funds``: what is committed to grants stays covered).

    Locks in the order ``receipt_record`` takes them: the contribution's row, then the
    fund's ledger row; the receipt is read again under the first.
    """
    receipt_reverse_check(user=user)
    reason = validate_reason(reason)
    contribution = Contribution.objects.select_for_update().get(pk=receipt.contribution_id)
    receipt = Receipt.objects.get(pk=receipt.pk)
    reversal_check(receipt, name="receipt")
    fund_debit(amount_usd=receipt.usd_amount)
    reversal = Receipt.objects.create(
        contribution=contribution,
        amount=-receipt.amount,
        usd_amount=-receipt.usd_amount,
        received_on=timezone.localdate(),
        recorded_by=user,
        reverses=receipt,
        reason=reason,
    )
    Contribution.objects.filter(pk=contribution.pk).update(
        received_amount=F("received_amount") - receipt.amount,
        received_usd=F("received_usd") - receipt.usd_amount,
    )
    audit_record(
        actor=user,
        action="receipt.reverse",
        obj=reversal,
        changes=created(reversal, RECEIPT_FIELDS),
        reason=reason,
    )
    return reversal


# --- Users ------------------------------------------------------------------------------------


def user_access_state(user) -> dict:
    """What the audit log keeps of a user's access: roles, donor partner, e-mail and the
    admin flags (never the password hash)."""
    if user.pk is None:
        return {}
    return _access_state(
        user,
        roles=user.groups.filter(name__in=Role.values).values_list("name", flat=True),
        partner_id=PartnerMembership.objects.filter(user=user)
        .values_list("partner", flat=True)
        .first(),
    )


def _access_state(user, *, roles, partner_id) -> dict:
    return {
        "roles": sorted(roles),
        "partner": partner_id,
        "email": user.email,
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
    }


def user_access_audit(*, actor, user, before: dict, password_changed: bool = False, action=None):
    """One ``user.create`` or ``user.update`` entry for what changed in a user's access
    since ``before`` (``_user_state``); for the services and the admin. Returns the
    changes (empty: nothing was written)."""
    changes = diff(before, user_access_state(user))
    if password_changed:
        changes["password"] = [None if not before else "(old)", "(new)"]
    if changes:
        audit_record(
            actor=actor,
            action=action or ("user.create" if not before else "user.update"),
            obj=user,
            changes=changes,
        )
    return changes


@transaction.atomic
def user_create_or_update(
    *,
    username: str,
    roles: list[str],
    partner: Partner | None = None,
    email: str | None = None,
    password: str | None = None,
    actor=None,
):
    """Create or update a user with exactly these roles (and their donor partner).

    A donor must belong to a partner; only donors do. A password must pass the
    validators of AUTH_PASSWORD_VALIDATORS (checked against this user's name and e-mail);
    without one, a new user gets an unusable password and an existing user keeps theirs.
    A new password, or a change of roles or donor partner, ends the user's API tokens
    (``user_tokens_revoke``): a token speaks for the user as they were when it was issued.
    Each change of roles, partner, e-mail or password is audited (``user.create``,
    ``user.update``; ``actor`` None for a command or a loader).
    """
    unknown = sorted(set(roles) - set(Role.values))
    if unknown:
        raise ValidationError(
            {"roles": [gettext("Unknown role(s): %(unknown)s.") % {"unknown": ", ".join(unknown)}]}
        )
    if not roles:
        raise ValidationError({"roles": [gettext("Give at least one role.")]})
    if Role.DONOR in roles and partner is None:
        raise ValidationError(
            {"partner": [gettext("A donor belongs to a partner: give --partner CODE.")]}
        )
    if partner is not None and Role.DONOR not in roles:
        raise ValidationError({"partner": [gettext("Only donors belong to a partner.")]})
    User = get_user_model()
    with transaction.atomic():
        user = User.objects.select_for_update().filter(username=username).first() or User(
            username=username
        )
        state = user_access_state(user)
        before = (set(state["roles"]), state["partner"]) if state else None
        if email is not None:
            user.email = email
        if password is not None:
            _password_set(user, password)
        elif not user.password:
            # A new user given no password: mark it unusable (not an empty hash) so that
            # has_usable_password() tells the truth; an existing user keeps theirs.
            user.set_unusable_password()
        user.save()
        user.groups.set(Group.objects.filter(name__in=roles))
        if partner is not None:
            PartnerMembership.objects.update_or_create(user=user, defaults={"partner": partner})
        else:
            PartnerMembership.objects.filter(user=user).delete()
        user_access_audit(
            actor=actor, user=user, before=state, password_changed=password is not None
        )
        after = (set(roles), partner.pk if partner is not None else None)
        if before is not None and (password is not None or before != after):
            user_tokens_revoke(
                user=user,
                why="password changed" if password is not None else "roles changed",
                actor=actor,
            )
    return user


@transaction.atomic
def users_create_many(*, usernames: list[str], role: str, actor=None) -> dict:
    """Create many new users of one role (not a donor's) with no usable password, as
    ``user_create_or_update`` creates one: in a few statements (the importer's hundreds
    of task team leaders). Each is audited (``user.create``). Returns {username: user},
    their roles read (``user_roles``) already. A name that is taken is a 400."""
    if role not in Role.values or role == Role.DONOR:
        raise ValidationError(
            {
                "roles": [
                    gettext("Cannot create users of the role %(role)s here.")
                    % {"role": f"{role!r}"}
                ]
            }
        )
    User = get_user_model()
    taken = sorted(User.objects.filter(username__in=usernames).values_list("username", flat=True))
    if taken:
        raise ValidationError(
            {"username": [gettext("Taken already: %(taken)s.") % {"taken": ", ".join(taken)}]}
        )
    users = []
    for name in dict.fromkeys(usernames):
        user = User(username=name)
        user.set_unusable_password()
        users.append(user)
    User.objects.bulk_create(users, batch_size=1000)
    group = Group.objects.get(name=role)
    User.groups.through.objects.bulk_create(
        [User.groups.through(user_id=u.pk, group_id=group.pk) for u in users], batch_size=5000
    )
    for user in users:
        user._seetf_roles = frozenset([role])
        audit_record(
            actor=actor,
            action="user.create",
            obj=user,
            changes=diff({}, _access_state(user, roles=[role], partner_id=None)),
        )
    return {u.username: u for u in users}


def _password_set(user, password: str) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)


def user_password_change(*, user, password: str, actor=None):
    """Give a user a new password (it must pass AUTH_PASSWORD_VALIDATORS) and end their API
    tokens: the web's password change, as ``user_create_or_update`` does for the command.
    Audited as ``user.password`` (by ``actor``, the user themself when not given)."""
    actor = actor if actor is not None else user
    with transaction.atomic():
        _password_set(user, password)
        user.save(update_fields=["password"])
        audit_record(
            actor=actor, action="user.password", obj=user, changes={"password": ["(old)", "(new)"]}
        )
        user_tokens_revoke(user=user, why="password changed", actor=actor)
    return user


@transaction.atomic
def user_tokens_revoke(*, user, why: str, actor=None) -> int:
    """Delete every API token of the user (a later request with one gets 401); returns how
    many. The one place tokens are ended: on a new password, new roles (rotation: the
    user asks ``POST /api/v1/auth/token/`` for a new one) and ``token_revoke``. Each
    revocation is audited (``token.revoke`` on the user, with ``why``; never the key)."""
    deleted, _ = Token.objects.filter(user=user).delete()
    if deleted:
        logger.info("API token of user %s (id %s) revoked: %s", user.username, user.pk, why)
        audit_record(
            actor=actor,
            action="token.revoke",
            obj=user,
            changes={"tokens": [deleted, 0]},
            reason=why,
        )
    return deleted


@transaction.atomic
def token_revoke(*, token: Token) -> None:
    """End the API token a request was sent with (``POST /api/v1/auth/token/revoke/``).
    A token is its user's only one (DRF's ``Token`` is one per user), so this ends the
    user's API access until they ask for a new token; their web sessions stay. Audited
    (``token.revoke``, by its holder)."""
    deleted, _ = Token.objects.filter(key=token.key).delete()
    if deleted:
        logger.info("API token of user %s (id %s) revoked by its holder", token.user, token.user_id)
        audit_record(
            actor=token.user,
            action="token.revoke",
            obj=token.user,
            changes={"tokens": [deleted, 0]},
            reason="revoked by its holder",
        )


# --- Funding windows ---------------------------------------------------------------------

WINDOW_FIELDS = {
    "code",
    "name",
    "kind",
    "region",
    "sectors",
    "max_grant_usd",
    "opens_on",
    "closes_on",
}


def window_refusal(
    window: Window,
    *,
    region: str,
    sector_id: str | None,
    recipient_regions: dict[str, str],
    requested_usd: Decimal | None,
    on: date | None = None,
    sector_ids: set[str] | None = None,
) -> str:
    """Why a grant does not fit a funding window, naming the rule; empty when it fits.

    The window must be open (its status; and, when ``on`` is given, that day within its
    dates: a grant is submitted while the window takes proposals); its region, when set,
    must be the grant's and each recipient country's (``recipient_regions``: code ->
    region); its sectors, when any (``sector_ids``, read when not given), must include
    the grant's; and the amount requested be at most its ``max_grant_usd``. One rule for
    the proposal's validation and the workflow's guards at submission and approval.
    """
    if window.status != WindowStatus.OPEN:
        return gettext("The window %(code)s is closed.") % {"code": window.code}
    if on is not None and on < window.opens_on:
        return gettext("The window %(code)s opens on %(opens_on)s.") % {
            "code": window.code,
            "opens_on": f"{window.opens_on:%Y-%m-%d}",
        }
    if on is not None and on > window.closes_on:
        return gettext("The window %(code)s closed on %(closes_on)s.") % {
            "code": window.code,
            "closes_on": f"{window.closes_on:%Y-%m-%d}",
        }
    if window.region:
        if region != window.region:
            return gettext(
                "The window %(code)s finances grants in region %(region)s; this "
                "grant's region is %(grant_region)s."
            ) % {"code": window.code, "region": window.region, "grant_region": region}
        outside = sorted(code for code, r in recipient_regions.items() if r != window.region)
        if outside:
            return gettext(
                "The window %(code)s finances recipients in region %(region)s; not: %(outside)s."
            ) % {"code": window.code, "region": window.region, "outside": ", ".join(outside)}
    if sector_ids is None:
        sector_ids = set(window.sectors.values_list("code", flat=True))
    if sector_ids and sector_id not in sector_ids:
        return gettext(
            "The window %(code)s finances the sectors %(sectors)s; not %(sector_id)s."
        ) % {"code": window.code, "sectors": ", ".join(sorted(sector_ids)), "sector_id": sector_id}
    if requested_usd is not None and requested_usd > window.max_grant_usd:
        return gettext(
            "The window %(code)s finances grants of at most %(max_grant_usd)s "
            "USD; %(requested_usd)s USD was requested."
        ) % {
            "code": window.code,
            "max_grant_usd": f"{window.max_grant_usd:,.2f}",
            "requested_usd": f"{requested_usd:,.2f}",
        }
    return ""


def _validate_window(fields: dict, *, current: Window | None = None) -> None:
    errors: dict[str, list[str]] = {}
    code = fields.get("code")
    if code is not None:
        clash = Window.objects.filter(code=code)
        if current is not None:
            clash = clash.exclude(pk=current.pk)
        if clash.exists():
            errors["code"] = [gettext("A window with this code exists.")]
    maximum = fields.get("max_grant_usd")
    if maximum is not None:
        try:
            _validate_amount("max_grant_usd", maximum)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    opens, closes = fields.get("opens_on"), fields.get("closes_on")
    if opens and closes and closes < opens:
        errors["closes_on"] = [gettext("A window cannot close before it opens.")]
    if errors:
        raise ValidationError(errors)


def _approvers_set(window: Window, approvers, *, user) -> None:
    """Name the window's approvers and their limits (a permission change: audited)."""
    User = get_user_model()
    wanted: dict[int, Decimal] = {}
    errors = []
    for entry in approvers:
        who, limit = entry["user"], entry["limit_usd"]
        approver = who if isinstance(who, User) else User.objects.filter(username=who).first()
        if approver is None:
            errors.append(gettext("No user %(who)s.") % {"who": f"{who!r}"})
            continue
        roles = set(approver.groups.values_list("name", flat=True))
        if Role.WINDOW_MANAGER not in roles:
            errors.append(
                gettext("%(username)s does not hold the window_manager role.")
                % {"username": approver.get_username()}
            )
            continue
        if approver.pk in wanted:
            errors.append(
                gettext("%(username)s is named twice.") % {"username": approver.get_username()}
            )
            continue
        try:
            _validate_amount("limit_usd", limit)
        except ValidationError:
            errors.append(
                gettext("The limit of %(username)s must be a positive amount.")
                % {"username": approver.get_username()}
            )
            continue
        wanted[approver.pk] = limit
    if errors:
        raise ValidationError({"approvers": errors})
    before = {
        str(a.user_id): str(a.limit_usd) for a in WindowApprover.objects.filter(window=window)
    }
    WindowApprover.objects.filter(window=window).exclude(user_id__in=wanted).delete()
    for user_id, limit in wanted.items():
        WindowApprover.objects.update_or_create(
            window=window, user_id=user_id, defaults={"limit_usd": limit}
        )
    after = {str(k): str(v) for k, v in wanted.items()}
    if before != after:
        audit_record(
            actor=user,
            action="window.approvers",
            obj=window,
            changes={"approvers": [before, after]},
        )


@transaction.atomic
def window_create(
    *,
    user,
    code: str,
    name: str,
    kind: str,
    max_grant_usd: Decimal,
    opens_on: date,
    closes_on: date,
    region: str = "",
    sectors: list[Sector] = (),
    approvers: list[dict] = (),
    at: datetime | None = None,
) -> Window:
    """A fund manager opens a funding window (with no money yet: allocate to it).
    ``at``: when, for a window of the past the importer replays (by default now)."""
    require(can_manage_windows(user))
    fields = {
        "code": code,
        "name": name,
        "kind": kind,
        "region": region or "",
        "max_grant_usd": max_grant_usd,
        "opens_on": opens_on,
        "closes_on": closes_on,
    }
    _validate_window(fields)
    window = Window(**fields, created_at=at, updated_at=at)
    window.full_clean(exclude=["code"])
    with explicit_timestamps(Window):
        window.save()
    window.sectors.set(sectors)
    audit_record(
        actor=user,
        action="window.create",
        obj=window,
        changes=created(window, [*sorted(WINDOW_FIELDS)]),
    )
    _approvers_set(window, approvers, user=user)
    return window


@transaction.atomic
def window_update(*, window: Window, user, approvers: list[dict] | None = None, **fields) -> Window:
    """A fund manager edits a window's rules and names its approvers and their limits
    (``approvers``: the whole list, ``[{user, limit_usd}]``; None leaves them). Its money
    moves only by ``window_allocate``, ``window_release`` and ``window_close``."""
    require(can_manage_windows(user))
    unknown = set(fields) - WINDOW_FIELDS
    if unknown:
        raise ValueError(f"window_update() cannot set {', '.join(sorted(unknown))}")
    fund_lock()
    window = window_lock(window.pk)
    before = snapshot(window, sorted(WINDOW_FIELDS))
    merged = {
        "opens_on": window.opens_on,
        "closes_on": window.closes_on,
        **fields,
    }
    _validate_window(merged, current=window)
    scalar = {k: v for k, v in fields.items() if k != "sectors"}
    if "region" in scalar:
        scalar["region"] = scalar["region"] or ""
    for name, value in scalar.items():
        setattr(window, name, value)
    window.full_clean(exclude=["code"])
    window.save(update_fields=[*scalar, "updated_at"])
    if "sectors" in fields:
        window.sectors.set(fields["sectors"])
    changes = diff(before, snapshot(window, sorted(WINDOW_FIELDS)))
    if changes:
        audit_record(actor=user, action="window.update", obj=window, changes=changes)
    if approvers is not None:
        _approvers_set(window, approvers, user=user)
    return window


def _movement(
    window: Window, *, kind: str, amount_usd: Decimal, user, reason: str, at=None
) -> WindowMovement:
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            {
                "reason": [
                    gettext("Use at most %(reason_max_length)s characters.")
                    % {"reason_max_length": REASON_MAX_LENGTH}
                ]
            }
        )
    with explicit_timestamps(WindowMovement):
        movement = WindowMovement.objects.create(
            window=window,
            kind=kind,
            amount_usd=amount_usd,
            reason=reason,
            recorded_by=user,
            created_at=at,
        )
    sign = -1 if kind != WindowMovementKind.ALLOCATION else 1
    audit_record(
        actor=user,
        action=f"window.{kind}",
        obj=window,
        changes={
            "allocated_usd": [
                str(window.allocated_usd),
                str(window.allocated_usd + sign * amount_usd),
            ]
        },
        reason=reason,
    )
    return movement


def window_money_check(*, user) -> None:
    """403 unless the user may move a window's money (fund managers)."""
    require(can_manage_windows(user))


@transaction.atomic
def window_allocate(
    *,
    window: Window,
    user,
    amount_usd: Decimal,
    reason: str = "",
    at: datetime | None = None,
) -> WindowMovement:
    """Move money from the fund's available money into an open window (409
    ``insufficient_funds`` beyond the fund's available; 409 ``invalid_transition`` for
    a closed window). Locks: the fund's row, then the window's."""
    window_money_check(user=user)
    _validate_amount("amount_usd", amount_usd)
    _lock_available(amount_usd, gettext("cannot be allocated"))
    window = window_lock(window.pk)
    if window.status != WindowStatus.OPEN:
        raise ApplicationError(
            gettext("The window %(code)s is closed; money is allocated to open windows.")
            % {"code": window.code},
            code="invalid_transition",
        )
    movement = _movement(
        window,
        kind=WindowMovementKind.ALLOCATION,
        amount_usd=amount_usd,
        user=user,
        reason=reason,
        at=at,
    )
    _window_add(window.pk, allocated_usd=amount_usd)
    _fund_add(allocated_usd=amount_usd)
    return movement


@transaction.atomic
def window_release(
    *,
    window: Window,
    user,
    amount_usd: Decimal,
    reason: str = "",
    at: datetime | None = None,
) -> WindowMovement:
    """Give a window's unused money back to the fund's available money (409
    ``over_release`` beyond the window's available). Locks: the fund, then the window."""
    window_money_check(user=user)
    _validate_amount("amount_usd", amount_usd)
    window = _lock_window_available(
        window.pk, amount_usd, gettext("cannot be released"), "over_release"
    )
    movement = _movement(
        window,
        kind=WindowMovementKind.RELEASE,
        amount_usd=amount_usd,
        user=user,
        reason=reason,
        at=at,
    )
    _window_add(window.pk, allocated_usd=-amount_usd)
    _fund_add(allocated_usd=-amount_usd)
    return movement


@transaction.atomic
def window_close(
    *, window: Window, user, reason: str = "", at: datetime | None = None
) -> WindowMovement:
    """Close a window: all its available money goes back to the fund, and it takes no
    more proposals or approvals (409 ``invalid_transition`` when closed already). What
    its grants release afterwards goes back to the fund too (``fund_release``). ``at``
    (as for ``window_allocate`` and ``window_release``): when, for a movement of the
    past the importer replays; by default now."""
    window_money_check(user=user)
    fund_lock()
    window = window_lock(window.pk)
    if window.status != WindowStatus.OPEN:
        raise ApplicationError(
            gettext("The window %(code)s is closed already.") % {"code": window.code},
            code="invalid_transition",
        )
    amount = window.available_usd
    movement = _movement(
        window, kind=WindowMovementKind.CLOSE, amount_usd=amount, user=user, reason=reason, at=at
    )
    Window.objects.filter(pk=window.pk).update(
        allocated_usd=F("allocated_usd") - amount,
        status=WindowStatus.CLOSED,
        updated_at=at or timezone.now(),
    )
    audit_record(
        actor=user,
        action="window.status",
        obj=window,
        changes={"status": [WindowStatus.OPEN, WindowStatus.CLOSED]},
        reason=movement.reason,
    )
    _fund_add(allocated_usd=-amount)
    return movement


@transaction.atomic
def receipts_record_many(*, entries: list[dict], recorded_by=None) -> list[Receipt]:
    """Record many receipts at once (the importer's): each entry is ``receipt_record``'s
    keyword arguments (``contribution``, ``amount``, ``received_on``, ``usd_amount``),
    checked by the same rules, in order (each within what its pledge still has to come,
    in its currency and in USD). The contributions are locked once, in id order, then
    the fund's ledger row once for the credit of them all: the locks of
    ``receipt_record``, in its order. A refusal names the entry: ``exc.entry`` (its index).
    """
    ids = sorted({entry["contribution"].pk for entry in entries})
    locked = {
        c.pk: c for c in Contribution.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    }
    received = {pk: [c.received_amount, c.received_usd] for pk, c in locked.items()}
    receipts = []
    for index, entry in enumerate(entries):
        try:
            contribution = locked[entry["contribution"].pk]
            amount, received_on = entry["amount"], entry["received_on"]
            usd_amount = entry.get("usd_amount")
            _validate_amount("amount", amount)
            _validate_recorded_date("received_on", received_on)
            if contribution.currency == "USD":
                if usd_amount is not None and usd_amount != amount:
                    raise ValidationError(
                        {"usd_amount": [gettext("For a USD contribution it equals amount.")]}
                    )
                usd_amount = amount
            elif usd_amount is None:
                raise ValidationError(
                    {
                        "usd_amount": [
                            gettext("Give the USD credited for money in another currency.")
                        ]
                    }
                )
            _validate_amount("usd_amount", usd_amount)
            total = received[contribution.pk]
            if total[0] + amount > contribution.pledged_amount:
                outstanding = contribution.pledged_amount - total[0]
                raise ValidationError(
                    {
                        "amount": [
                            gettext(
                                "Only %(outstanding)s %(currency)s of this pledge is outstanding; "
                                "amend the pledge first."
                            )
                            % {
                                "outstanding": f"{outstanding:,.2f}",
                                "currency": contribution.currency,
                            }
                        ]
                    }
                )
            if total[1] + usd_amount > contribution.pledged_usd:
                raise ValidationError(
                    {
                        "usd_amount": [
                            gettext(
                                "The pledge is worth %(pledged_usd)s USD and %(value)s USD of it "
                                "is left to credit; amend the pledge first."
                            )
                            % {
                                "pledged_usd": f"{contribution.pledged_usd:,.2f}",
                                "value": f"{contribution.pledged_usd - total[1]:,.2f}",
                            }
                        ]
                    }
                )
        except ValidationError as exc:
            exc.entry = index
            raise
        total[0] += amount
        total[1] += usd_amount
        receipts.append(
            Receipt(
                contribution=contribution,
                amount=amount,
                usd_amount=usd_amount,
                received_on=received_on,
                recorded_by=recorded_by,
            )
        )
    Receipt.objects.bulk_create(receipts, batch_size=2000)
    for pk, (amount, usd) in received.items():
        c = locked[pk]
        if (amount, usd) != (c.received_amount, c.received_usd):
            Contribution.objects.filter(pk=pk).update(received_amount=amount, received_usd=usd)
    credit = sum((r.usd_amount for r in receipts), Decimal("0.00"))
    if credit:
        fund_credit(amount_usd=credit)
    return receipts
