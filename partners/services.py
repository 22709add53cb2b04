"""Writes for partners, contributions, receipts, users, and the fund's ledger."""

import logging
from datetime import date
from decimal import Decimal

import pycountry
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from rest_framework.authtoken.models import Token

from seetf.common.errors import ApplicationError
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
)
from .permissions import can_record_money_in
from .roles import Role
from .signals import fund_moved

logger = logging.getLogger(__name__)

# --- Validation shared by the services ------------------------------------------------


def validate_currency(code: str) -> str:
    code = (code or "").upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise ValidationError({"currency": [f"'{code}' is not an ISO 4217 currency code."]})
    return code


def _validate_amount(field: str, value: Decimal) -> Decimal:
    if value is None or value <= 0:
        raise ValidationError({field: ["Must be greater than zero."]})
    if value > MAX_AMOUNT:
        raise ValidationError({field: [f"Must be at most {MAX_AMOUNT:,}."]})
    if not is_whole_cents(value):
        raise ValidationError({field: ["Use at most two decimal places."]})
    return value


# Money recorded before the oldest trust fund of this kind, or in the future, is a typo.
EARLIEST_DATE = date(1990, 1, 1)


def _validate_recorded_date(field: str, value: date) -> None:
    if value < EARLIEST_DATE:
        raise ValidationError({field: [f"Must be on or after {EARLIEST_DATE:%Y-%m-%d}."]})
    if value > timezone.localdate():
        raise ValidationError({field: ["Money cannot be recorded as received in the future."]})


# --- The fund's ledger ---------------------------------------------------------------------


def fund_lock() -> Fund:
    """Lock the fund's ledger row until the transaction ends and return it.

    Every money movement takes this lock first, so two approvals (or an approval and
    a receipt) can never read the same available balance and both act on it.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("fund_lock() must run inside transaction.atomic().")
    fund, _ = Fund.objects.select_for_update().get_or_create(pk=1)
    return fund


def _fund_add(**deltas: Decimal) -> Fund:
    Fund.objects.filter(pk=1).update(**{name: F(name) + value for name, value in deltas.items()})
    # Money moved: the funding-balance check (grants, above this app) queues itself for
    # after this transaction commits.
    fund_moved.send(sender=Fund)
    return Fund.objects.get(pk=1)


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
            f"The fund has {fund.available_usd:,.2f} USD available; "
            f"{amount_usd:,.2f} USD {refused}.",
            code="insufficient_funds",
        )
    return fund


def fund_commit(*, amount_usd: Decimal) -> Fund:
    """Commit money to a grant; refuses (409 ``insufficient_funds``) beyond what is available."""
    _lock_available(amount_usd, "cannot be committed")
    return _fund_add(committed_usd=amount_usd)


def fund_debit(*, amount_usd: Decimal) -> Fund:
    """Money received taken back (a reversed receipt); refuses (409
    ``insufficient_funds``) beyond what is available: money committed to grants stays
    covered by money received."""
    _lock_available(amount_usd, "received cannot be taken back: committed money would be uncovered")
    return _fund_add(received_usd=-amount_usd)


def fund_release(*, amount_usd: Decimal) -> Fund:
    """Give back committed money that will not be spent (a cancelled or closed grant)."""
    fund_lock()
    return _fund_add(committed_usd=-amount_usd)


def fund_disburse(*, amount_usd: Decimal) -> Fund:
    """Money paid out of committed money."""
    fund_lock()
    return _fund_add(disbursed_usd=amount_usd)


def fund_undisburse(*, amount_usd: Decimal) -> Fund:
    """A disbursement reversed: the money counts as not paid out; it stays committed to
    its grant."""
    fund_lock()
    return _fund_add(disbursed_usd=-amount_usd)


# --- Reversing entries ----------------------------------------------------------------------


def validate_reason(reason: str) -> str:
    """A reversing entry says why (400 on ``reason``)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Say why this entry is reversed."]})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError({"reason": [f"Use at most {REASON_MAX_LENGTH} characters."]})
    return reason


def reversal_check(entry, *, name: str) -> None:
    """409 ``invalid_transition`` when ``entry`` (a receipt or a disbursement, read under
    its parent's row lock) is a reversal itself or was reversed already."""
    if entry.reverses_id is not None:
        raise ApplicationError(
            f"This {name} reverses {name} {entry.reverses_id}; a reversal cannot be reversed.",
            code="invalid_transition",
        )
    if type(entry).objects.filter(reverses=entry).exists():
        raise ApplicationError(f"This {name} was reversed already.", code="invalid_transition")


# --- Partners -------------------------------------------------------------------------------


def partner_create(
    *,
    code: str,
    name: str,
    kind: str,
    country: Country | None = None,
    joined_on: date | None = None,
    iati_org_ref: str = "",
    iati_org_type: str = "",
) -> Partner:
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
    return partner


def partner_update(*, partner: Partner, **fields) -> Partner:
    allowed = {"code", "name", "kind", "country", "joined_on", "iati_org_ref", "iati_org_type"}
    for name, value in fields.items():
        if name not in allowed:
            raise ValueError(f"partner_update() cannot set {name}")
        setattr(partner, name, value)
    partner.full_clean()
    partner.save(update_fields=[*fields, "updated_at"])
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
        raise ValidationError({"period_end": ["The period cannot end before it starts."]})


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
) -> Contribution:
    """Record a pledge. For a USD pledge, ``pledged_usd`` is the amount itself."""
    currency = validate_currency(currency)
    _validate_amount("pledged_amount", pledged_amount)
    if currency == "USD":
        if pledged_usd is not None and pledged_usd != pledged_amount:
            raise ValidationError({"pledged_usd": ["For a USD pledge it equals pledged_amount."]})
        pledged_usd = pledged_amount
    elif pledged_usd is None:
        raise ValidationError(
            {"pledged_usd": ["Give the USD value of a pledge in another currency."]}
        )
    _validate_amount("pledged_usd", pledged_usd)
    _validate_period(period_start, period_end)
    _validate_provider_activity_id(provider_activity_id)
    if Contribution.objects.filter(reference=reference).exists():
        raise ValidationError({"reference": ["A contribution with this reference exists."]})
    return Contribution.objects.create(
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


@transaction.atomic
def contribution_update(*, contribution: Contribution, **fields) -> Contribution:
    """Amend a pledge. It can never fall below what was already received, and its
    currency cannot change once money has been received in it."""
    contribution = Contribution.objects.select_for_update().get(pk=contribution.pk)
    allowed = {
        "partner",
        "reference",
        "currency",
        "pledged_amount",
        "pledged_usd",
        "signed_on",
        "period_start",
        "period_end",
        "provider_activity_id",
    }
    for name in fields:
        if name not in allowed:
            raise ValueError(f"contribution_update() cannot set {name}")
    if "currency" in fields:
        fields["currency"] = validate_currency(fields["currency"])
        if fields["currency"] != contribution.currency and contribution.received_amount > 0:
            raise ValidationError({"currency": ["Money was received in this currency already."]})
    if (
        "reference" in fields
        and Contribution.objects.filter(reference=fields["reference"])
        .exclude(pk=contribution.pk)
        .exists()
    ):
        raise ValidationError({"reference": ["A contribution with this reference exists."]})
    for name, value in fields.items():
        setattr(contribution, name, value)
    _validate_amount("pledged_amount", contribution.pledged_amount)
    if contribution.currency == "USD":
        if "pledged_usd" in fields and contribution.pledged_usd != contribution.pledged_amount:
            raise ValidationError({"pledged_usd": ["For a USD pledge it equals pledged_amount."]})
        contribution.pledged_usd = contribution.pledged_amount
    _validate_amount("pledged_usd", contribution.pledged_usd)
    if contribution.pledged_amount < contribution.received_amount:
        raise ValidationError(
            {
                "pledged_amount": [
                    f"{contribution.received_amount:,.2f} {contribution.currency} was received "
                    "already; the pledge cannot be smaller."
                ]
            }
        )
    if contribution.pledged_usd < contribution.received_usd:
        raise ValidationError(
            {
                "pledged_usd": [
                    f"{contribution.received_usd:,.2f} USD was credited already; the "
                    "pledge's USD value cannot be smaller."
                ]
            }
        )
    _validate_period(contribution.period_start, contribution.period_end)
    _validate_provider_activity_id(contribution.provider_activity_id)
    contribution.save()
    return contribution


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
            raise ValidationError({"usd_amount": ["For a USD contribution it equals amount."]})
        usd_amount = amount
    elif usd_amount is None:
        raise ValidationError(
            {"usd_amount": ["Give the USD credited for money in another currency."]}
        )
    _validate_amount("usd_amount", usd_amount)
    outstanding = contribution.pledged_amount - contribution.received_amount
    if amount > outstanding:
        raise ValidationError(
            {
                "amount": [
                    f"Only {outstanding:,.2f} {contribution.currency} of this pledge is "
                    "outstanding; amend the pledge first."
                ]
            }
        )
    usd_left = contribution.pledged_usd - contribution.received_usd
    if usd_amount > usd_left:
        raise ValidationError(
            {
                "usd_amount": [
                    f"The pledge is worth {contribution.pledged_usd:,.2f} USD and "
                    f"{usd_left:,.2f} USD of it is left to credit; amend the pledge first."
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
    return reversal


# --- Users ------------------------------------------------------------------------------------


@transaction.atomic
def user_create_or_update(
    *,
    username: str,
    roles: list[str],
    partner: Partner | None = None,
    email: str | None = None,
    password: str | None = None,
):
    """Create or update a user with exactly these roles (and their donor partner).

    A donor must belong to a partner; only donors do. A password must pass the
    validators of AUTH_PASSWORD_VALIDATORS (checked against this user's name and e-mail);
    without one, a new user gets an unusable password and an existing user keeps theirs.
    A new password, or a change of roles or donor partner, ends the user's API tokens
    (``user_tokens_revoke``): a token speaks for the user as they were when it was issued.
    """
    unknown = sorted(set(roles) - set(Role.values))
    if unknown:
        raise ValidationError({"roles": [f"Unknown role(s): {', '.join(unknown)}."]})
    if not roles:
        raise ValidationError({"roles": ["Give at least one role."]})
    if Role.DONOR in roles and partner is None:
        raise ValidationError({"partner": ["A donor belongs to a partner: give --partner CODE."]})
    if partner is not None and Role.DONOR not in roles:
        raise ValidationError({"partner": ["Only donors belong to a partner."]})
    User = get_user_model()
    with transaction.atomic():
        user = User.objects.select_for_update().filter(username=username).first() or User(
            username=username
        )
        if user.pk is None:
            before = None
        else:
            before = (
                set(user.groups.filter(name__in=Role.values).values_list("name", flat=True)),
                PartnerMembership.objects.filter(user=user)
                .values_list("partner", flat=True)
                .first(),
            )
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
        after = (set(roles), partner.pk if partner is not None else None)
        if before is not None and (password is not None or before != after):
            user_tokens_revoke(
                user=user, why="password changed" if password is not None else "roles changed"
            )
    return user


def _password_set(user, password: str) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)


def user_password_change(*, user, password: str):
    """Give a user a new password (it must pass AUTH_PASSWORD_VALIDATORS) and end their API
    tokens: the web's password change, as ``user_create_or_update`` does for the command."""
    with transaction.atomic():
        _password_set(user, password)
        user.save(update_fields=["password"])
        user_tokens_revoke(user=user, why="password changed")
    return user


def user_tokens_revoke(*, user, why: str) -> int:
    """Delete every API token of the user (a later request with one gets 401); returns how
    many. The one place tokens are ended: on a new password, new roles (rotation: the
    user asks ``POST /api/v1/auth/token/`` for a new one) and ``token_revoke``."""
    deleted, _ = Token.objects.filter(user=user).delete()
    if deleted:
        logger.info("API token of user %s (id %s) revoked: %s", user.username, user.pk, why)
    return deleted


def token_revoke(*, token: Token) -> None:
    """End the API token a request was sent with (``POST /api/v1/auth/token/revoke/``).
    A token is its user's only one (DRF's ``Token`` is one per user), so this ends the
    user's API access until they ask for a new token; their web sessions stay."""
    deleted, _ = Token.objects.filter(key=token.key).delete()
    if deleted:
        logger.info("API token of user %s (id %s) revoked by its holder", token.user, token.user_id)
