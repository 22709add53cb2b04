"""Writes for brokering: offers, requests and the match that becomes a draft grant.
Keyword-only, checked, atomic and audited (``audit.services.audit_record``)."""

import re
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record, created, diff, snapshot
from grants import services as grant_services
from grants.models import Instrument, PartnerRole
from partners.models import Country, Partner, Sector
from results.markdown import render_markdown
from seetf.common.errors import ApplicationError
from seetf.common.models import explicit_timestamps
from seetf.common.rules import require

from .languages import is_language
from .models import ExchangeRequest, Match, Offer, OfferStatus, RequestStatus
from .permissions import can_edit_offer, can_edit_request, can_write_offers, can_write_requests
from .references import (
    OFFER_PREFIX,
    REFERENCE_PATTERN,
    REQUEST_PREFIX,
    next_reference,
    references_reserve,
)
from .selectors import capacity_used

OFFER_FIELDS = {
    "title",
    "description",
    "provider_country",
    "institution",
    "sectors",
    "instruments",
    "languages",
    "capacity_per_year",
    "contact_name",
    "contact_email",
}
REQUEST_FIELDS = {
    "title",
    "description",
    "recipient_country",
    "sectors",
    "instruments",
    "languages",
    "needed_by",
    "endorsed_on",
}
MAX_SECTORS = 10
# A tag, a comment or a declaration: descriptions are plain text or Markdown, never HTML.
# "a < b" stays text, as browsers read it.
_HTML = re.compile(r"</?[A-Za-z!?]")

# Offer statuses: which actions move them, from where, to where.
OFFER_TRANSITIONS = {
    "publish": ({OfferStatus.DRAFT, OfferStatus.WITHDRAWN}, OfferStatus.PUBLISHED),
    "withdraw": ({OfferStatus.DRAFT, OfferStatus.PUBLISHED}, OfferStatus.WITHDRAWN),
}


def _invalid(message: str) -> ApplicationError:
    return ApplicationError(message, code="invalid_transition")


def _validate_common(data: dict, errors: dict) -> None:
    description = data.get("description")
    if description is not None and _HTML.search(description):
        errors["description"] = [
            _(
                "Write plain text or Markdown: HTML tags are not accepted (use **bold**, "
                "lists, [links](https://...))."
            )
        ]
    title = data.get("title")
    if title is not None and _HTML.search(title):
        errors["title"] = [_("HTML tags are not accepted in a title.")]
    sectors = data.get("sectors")
    if sectors is not None:
        if not sectors:
            errors["sectors"] = [_("Name at least one sector.")]
        elif len(sectors) > MAX_SECTORS:
            errors["sectors"] = [
                _("At most %(max_sectors)s sectors.") % {"max_sectors": MAX_SECTORS}
            ]
    instruments = data.get("instruments")
    if instruments is not None:
        unknown = sorted(set(instruments) - set(Instrument.values))
        if unknown:
            errors["instruments"] = [
                _("Unknown instrument(s): %(unknown)s.") % {"unknown": ", ".join(unknown)}
            ]
        elif not instruments:
            errors["instruments"] = [_("Name at least one instrument.")]
    languages = data.get("languages")
    if languages is not None:
        bad = sorted({str(code) for code in languages if not is_language(code)})
        if bad:
            errors["languages"] = [
                _(
                    "Not ISO 639-1 language code(s): %(bad)s (two lower-case letters, "
                    "e.g. en, fr, pt)."
                )
                % {"bad": ", ".join(bad)}
            ]
        elif not languages:
            errors["languages"] = [_("Name at least one language.")]


def _ordered_unique(values) -> list:
    return list(dict.fromkeys(values))


def _validate_offer(data: dict) -> None:
    errors: dict[str, list[str]] = {}
    _validate_common(data, errors)
    capacity = data.get("capacity_per_year")
    if capacity is not None and not (1 <= capacity <= 1000):
        errors["capacity_per_year"] = [_("Between 1 and 1000 exchanges a year.")]
    if errors:
        raise ValidationError(errors)


def _validate_request(data: dict, *, today: date, past: bool = False) -> None:
    """``past``: a request of the fund's history (the importer), whose ``needed_by`` may
    have gone by since; a new one is needed in the future (400)."""
    errors: dict[str, list[str]] = {}
    _validate_common(data, errors)
    needed_by = data.get("needed_by")
    if needed_by is not None and needed_by < today and not past:
        errors["needed_by"] = [_("Cannot be in the past.")]
    endorsed = data.get("endorsed_on")
    if endorsed is not None and endorsed > today:
        errors["endorsed_on"] = [_("The endorsement cannot be in the future.")]
    if errors:
        raise ValidationError(errors)


def _clean_lists(data: dict) -> dict:
    for name in ("instruments", "languages"):
        if data.get(name) is not None:
            data[name] = _ordered_unique(str(v) for v in data[name])
    return data


# --- Offers -------------------------------------------------------------------------------


@transaction.atomic
def offer_create(
    *,
    user,
    title: str,
    description: str,
    provider_country: Country,
    institution: str,
    sectors: list[Sector],
    instruments: list[str],
    languages: list[str],
    capacity_per_year: int,
    contact_name: str,
    contact_email: str,
) -> Offer:
    """A task team leader or fund manager drafts an offer (status ``draft``)."""
    require(can_write_offers(user))
    data = _clean_lists(
        {
            "title": title,
            "description": description,
            "sectors": _ordered_unique(sectors),
            "instruments": instruments,
            "languages": languages,
            "capacity_per_year": capacity_per_year,
        }
    )
    _validate_offer(data)
    offer = Offer.objects.create(
        reference=next_reference(Offer, OFFER_PREFIX, timezone.localdate().year),
        title=title,
        description=description,
        rendered_description=render_markdown(description),
        provider_country=provider_country,
        institution=institution,
        instruments=data["instruments"],
        languages=data["languages"],
        capacity_per_year=capacity_per_year,
        contact_name=contact_name,
        contact_email=contact_email,
        created_by=user,
    )
    offer.sectors.set(data["sectors"])
    changes = created(offer, _audited(offer))
    audit_record(actor=user, action="offer.create", obj=offer, changes=changes)
    return offer


def _audited(offer: Offer) -> list[str]:
    """An offer's fields as its audit entries record them: not its rendered description
    (the description's rendering, not a change of its own)."""
    return [
        f.name
        for f in offer._meta.concrete_fields
        if not f.primary_key and f.name != "rendered_description"
    ]


def offer_check(*, offer: Offer, user) -> None:
    """403 unless the user may change this offer."""
    require(can_edit_offer(user, offer))


@transaction.atomic
def offer_update(*, offer: Offer, user, **fields) -> Offer:
    unknown = set(fields) - OFFER_FIELDS
    if unknown:
        raise ValueError(f"offer_update() cannot set {', '.join(sorted(unknown))}")
    offer = Offer.objects.select_for_update().get(pk=offer.pk)
    offer_check(offer=offer, user=user)
    if "sectors" in fields:
        fields["sectors"] = _ordered_unique(fields["sectors"])
    fields = _clean_lists(fields)
    _validate_offer(fields)
    before = snapshot(offer, _audited(offer))
    for name, value in fields.items():
        if name != "sectors":
            setattr(offer, name, value)
    offer.rendered_description = render_markdown(offer.description)
    offer.save()
    if "sectors" in fields:
        offer.sectors.set(fields["sectors"])
    changes = diff(before, snapshot(offer, _audited(offer)))
    if changes:
        audit_record(actor=user, action="offer.update", obj=offer, changes=changes)
    return offer


@transaction.atomic
def offer_transition(*, offer: Offer, user, action: str, reason: str = "") -> Offer:
    """Publish or withdraw an offer (its author or a fund manager); a move its status
    does not allow is 409 ``invalid_transition``."""
    if action not in OFFER_TRANSITIONS:
        raise _invalid(_("Unknown action %(action)s.") % {"action": f"{action!r}"})
    offer = Offer.objects.select_for_update().get(pk=offer.pk)
    offer_check(offer=offer, user=user)
    sources, target = OFFER_TRANSITIONS[action]
    if offer.status not in sources:
        raise _invalid(
            _("Cannot %(action)s an offer that is %(status)s; it must be %(statuses)s.")
            % {"action": action, "status": offer.status, "statuses": " or ".join(sorted(sources))}
        )
    before = offer.status
    offer.status = target
    offer.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=user,
        action=f"offer.{action}",
        obj=offer,
        changes={"status": [before, target]},
        reason=reason,
    )
    return offer


# --- Requests -----------------------------------------------------------------------------


@transaction.atomic
def request_create(
    *,
    user,
    title: str,
    description: str,
    recipient_country: Country,
    sectors: list[Sector],
    instruments: list[str],
    languages: list[str],
    needed_by: date,
    endorsed_on: date | None = None,
) -> ExchangeRequest:
    """A task team leader (or a fund manager) enters a country's request (``open``)."""
    require(can_write_requests(user))
    data = _clean_lists(
        {
            "title": title,
            "description": description,
            "sectors": _ordered_unique(sectors),
            "instruments": instruments,
            "languages": languages,
            "needed_by": needed_by,
            "endorsed_on": endorsed_on,
        }
    )
    _validate_request(data, today=timezone.localdate())
    request = ExchangeRequest.objects.create(
        reference=next_reference(ExchangeRequest, REQUEST_PREFIX, timezone.localdate().year),
        title=title,
        description=description,
        recipient_country=recipient_country,
        instruments=data["instruments"],
        languages=data["languages"],
        needed_by=needed_by,
        endorsed_on=endorsed_on,
        requested_by=user,
    )
    request.sectors.set(data["sectors"])
    audit_record(actor=user, action="request.create", obj=request, changes=created(request))
    return request


def request_check(*, request: ExchangeRequest, user) -> None:
    """403 unless the user may change this request; 409 unless it is open."""
    require(can_edit_request(user, request))
    if request.status != RequestStatus.OPEN:
        raise _invalid(
            _("A request is changed only while open; this one is %(status)s.")
            % {"status": request.status}
        )


@transaction.atomic
def request_update(*, request: ExchangeRequest, user, **fields) -> ExchangeRequest:
    unknown = set(fields) - REQUEST_FIELDS
    if unknown:
        raise ValueError(f"request_update() cannot set {', '.join(sorted(unknown))}")
    request = ExchangeRequest.objects.select_for_update().get(pk=request.pk)
    request_check(request=request, user=user)
    if "sectors" in fields:
        fields["sectors"] = _ordered_unique(fields["sectors"])
    fields = _clean_lists(fields)
    _validate_request(fields, today=timezone.localdate())
    before = snapshot(request)
    for name, value in fields.items():
        if name != "sectors":
            setattr(request, name, value)
    request.save()
    if "sectors" in fields:
        request.sectors.set(fields["sectors"])
    changes = diff(before, snapshot(request))
    if changes:
        audit_record(actor=user, action="request.update", obj=request, changes=changes)
    return request


@transaction.atomic
def request_close(*, request: ExchangeRequest, user, reason: str = "") -> ExchangeRequest:
    """Close an open request without a match (its author or a fund manager)."""
    request = ExchangeRequest.objects.select_for_update().get(pk=request.pk)
    request_check(request=request, user=user)
    request.status = RequestStatus.CLOSED
    request.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=user,
        action="request.close",
        obj=request,
        changes={"status": [RequestStatus.OPEN, RequestStatus.CLOSED]},
        reason=reason,
    )
    return request


# --- The match ----------------------------------------------------------------------------


def _shared_sector(request: ExchangeRequest, offer: Offer) -> Sector:
    """The grant's sector: the first of the request's sectors the offer has; else the
    first the offer has in one of the request's categories; else the request's first."""
    wanted = list(request.sectors.order_by("code"))
    offered = {s.code: s for s in offer.sectors.all()}
    for sector in wanted:
        if sector.code in offered:
            return sector
    for sector in wanted:
        for code in sorted(offered):
            if code[:3] == sector.code[:3]:
                return offered[code]
    return wanted[0]


@transaction.atomic
def request_match(*, request: ExchangeRequest, offer: Offer, user) -> Match:
    """Accept a suggestion: a draft grant for the request's author, filled from both
    sides, linked to both; the request becomes ``matched``; the offer's capacity of the
    year counts it. Locks: the request's row, then the offer's."""
    request = ExchangeRequest.objects.select_for_update().get(pk=request.pk)
    request_check(request=request, user=user)
    offer = Offer.objects.select_for_update().select_related("provider_country").get(pk=offer.pk)
    if offer.status != OfferStatus.PUBLISHED:
        raise ValidationError({"offer": [_("Only a published offer can be matched.")]})
    recipient = request.recipient_country
    if offer.provider_country_id == request.recipient_country_id:
        raise ValidationError(
            {
                "offer": [
                    _("The offer comes from %(name)s, the recipient country itself.")
                    % {"name": recipient.name}
                ]
            }
        )
    leader = request.requested_by
    now = timezone.now()
    today = timezone.localdate(now)
    start = today + timedelta(days=settings.BROKERING_DRAFT_START_DAYS)
    end = max(request.needed_by, start + timedelta(days=1))
    instruments = [i for i in request.instruments if i in offer.instruments] or offer.instruments[
        :1
    ]
    provider = offer.provider_country
    knowledge_providers = list(Partner.objects.filter(country=provider).order_by("id")[:1])
    grant = grant_services.grant_create(
        leader=leader,
        title=request.title[:200],
        summary=(
            f'{request.description}\n\nMatched with the offer "{offer.title}" of '
            f"{offer.institution} ({provider.name})."
        )[:5000],
        sector=_shared_sector(request, offer),
        region=recipient.region,
        recipient_countries=[recipient],
        provider_countries=[provider],
        requested_usd=Decimal(settings.BROKERING_DRAFT_REQUESTED_USD),
        planned_start=start,
        planned_end=end,
        partner_roles=[
            {"partner": p, "role": PartnerRole.KNOWLEDGE_PROVIDER, "cofinancing_usd": None}
            for p in knowledge_providers
        ],
        recipient_endorsed_on=request.endorsed_on,
    )
    labels = dict(Instrument.choices)
    for instrument in instruments:
        grant_services.exchange_create(
            grant=grant,
            user=leader,
            instrument=instrument,
            title=f"{labels.get(instrument, instrument)}: {offer.title}"[:200],
            provider_countries=[provider],
            recipient_countries=[recipient],
            start_date=start,
            end_date=end,
            location=offer.institution[:200],
        )
    match = Match.objects.create(
        request=request,
        offer=offer,
        grant=grant,
        matched_by=user,
        matched_at=now,
        year=today.year,
    )
    request.status = RequestStatus.MATCHED
    request.save(update_fields=["status", "updated_at"])
    used = capacity_used([offer.pk], today.year).get(offer.pk, 0)
    audit_record(
        actor=user,
        action="request.match",
        obj=request,
        changes={
            "status": [RequestStatus.OPEN, RequestStatus.MATCHED],
            "offer": [None, offer.pk],
            "grant": [None, grant.pk],
            "offer_capacity_used": [used - 1, used],
        },
    )
    return match


# --- The fund's past, in batches (the importer) ------------------------------------------


def _past_reference(reference: str, prefix: str, taken: set) -> None:
    match = REFERENCE_PATTERN.fullmatch(reference or "")
    if match is None or match.group(1) != prefix:
        raise ValidationError(
            {"reference": [_("A reference is %(prefix)s-YYYY-NNNN.") % {"prefix": prefix}]}
        )
    if reference in taken:
        raise ValidationError(
            {"reference": [_("%(reference)s exists already.") % {"reference": reference}]}
        )
    taken.add(reference)


def _past_error(exc, index: int):
    exc.entry = index
    return exc


@transaction.atomic
def offers_record_past(*, entries: list[dict]) -> list[Offer]:
    """Record offers of the fund's past in bulk (the importer's), by ``offer_create``'s
    rules (its author may write offers; the fields' rules) and ``offer_transition``'s
    statuses: each entry is ``offer_create``'s keyword arguments with ``reference``
    (kept; the years' counters raised past it), ``status`` and ``created_at``. One
    statement per table. A refusal names the entry: ``exc.entry`` (its index)."""
    taken = set(
        Offer.objects.filter(reference__in=[e["reference"] for e in entries]).values_list(
            "reference", flat=True
        )
    )
    offers, sectors = [], []
    for index, entry in enumerate(entries):
        try:
            user = entry["user"]
            require(can_write_offers(user))
            _past_reference(entry["reference"], OFFER_PREFIX, taken)
            if entry["status"] not in OfferStatus.values:
                raise ValidationError(
                    {
                        "status": [
                            _("Unknown status %(status)s.") % {"status": f"{entry['status']!r}"}
                        ]
                    }
                )
            data = _clean_lists(
                {
                    "title": entry["title"],
                    "description": entry["description"],
                    "sectors": _ordered_unique(entry["sectors"]),
                    "instruments": entry["instruments"],
                    "languages": entry["languages"],
                    "capacity_per_year": entry["capacity_per_year"],
                }
            )
            _validate_offer(data)
        except (ValidationError, ApplicationError) as exc:
            raise _past_error(exc, index) from None
        offer = Offer(
            reference=entry["reference"],
            title=entry["title"],
            description=entry["description"],
            rendered_description=render_markdown(entry["description"]),
            provider_country=entry["provider_country"],
            institution=entry["institution"],
            instruments=data["instruments"],
            languages=data["languages"],
            capacity_per_year=entry["capacity_per_year"],
            contact_name=entry["contact_name"],
            contact_email=entry["contact_email"],
            status=entry["status"],
            created_by=user,
            created_at=entry["created_at"],
            updated_at=entry["created_at"],
        )
        try:
            # The fields' lengths and the e-mail's form; the capacity's CHECK is
            # ``_validate_offer``'s (not a query per offer), the reference's uniqueness above.
            offer.full_clean(
                exclude=["provider_country", "created_by", "reference"],
                validate_unique=False,
                validate_constraints=False,
            )
        except ValidationError as exc:
            raise _past_error(exc, index) from None
        offers.append(offer)
        sectors.append(data["sectors"])
    _bulk_create_with_sectors(Offer, offers, sectors)
    references_reserve(o.reference for o in offers)
    return offers


@transaction.atomic
def requests_record_past(*, entries: list[dict]) -> list[ExchangeRequest]:
    """Record requests of the fund's past in bulk (the importer's), by
    ``request_create``'s rules, but for ``needed_by``, which may have gone by (a past
    request), and ``request_match``'s for a matched one: each entry is
    ``request_create``'s keyword arguments with ``reference``, ``status``,
    ``created_at`` and, for a ``matched`` request, ``match``: ``{offer, grant,
    matched_by, matched_at}`` (a published offer, not from the recipient country; the
    grant held). A refusal names the entry: ``exc.entry`` (its index)."""
    taken = set(
        ExchangeRequest.objects.filter(reference__in=[e["reference"] for e in entries]).values_list(
            "reference", flat=True
        )
    )
    today = timezone.localdate()
    requests, sectors, matches = [], [], []
    grants_matched = set()
    for index, entry in enumerate(entries):
        try:
            user = entry["user"]
            require(can_write_requests(user))
            _past_reference(entry["reference"], REQUEST_PREFIX, taken)
            status = entry["status"]
            if status not in RequestStatus.values:
                raise ValidationError(
                    {"status": [_("Unknown status %(status)s.") % {"status": f"{status!r}"}]}
                )
            data = _clean_lists(
                {
                    "title": entry["title"],
                    "description": entry["description"],
                    "sectors": _ordered_unique(entry["sectors"]),
                    "instruments": entry["instruments"],
                    "languages": entry["languages"],
                    "needed_by": entry["needed_by"],
                    "endorsed_on": entry.get("endorsed_on"),
                }
            )
            _validate_request(data, today=today, past=True)
            match = entry.get("match")
            if (status == RequestStatus.MATCHED) != (match is not None):
                raise ValidationError(
                    {"status": [_("A request is matched when, and only when, it names its match.")]}
                )
            if match is not None:
                offer, recipient = match["offer"], entry["recipient_country"]
                if offer.status != OfferStatus.PUBLISHED:
                    raise ValidationError({"offer": [_("Only a published offer can be matched.")]})
                if offer.provider_country_id == recipient.pk:
                    raise ValidationError(
                        {
                            "offer": [
                                _("The offer comes from %(name)s, the recipient country itself.")
                                % {"name": recipient.name}
                            ]
                        }
                    )
                if match["grant"].pk in grants_matched or hasattr(match["grant"], "brokered_match"):
                    raise ValidationError({"grant": [_("This grant is another request's match.")]})
                grants_matched.add(match["grant"].pk)
        except (ValidationError, ApplicationError) as exc:
            raise _past_error(exc, index) from None
        request = ExchangeRequest(
            reference=entry["reference"],
            title=entry["title"],
            description=entry["description"],
            recipient_country=entry["recipient_country"],
            instruments=data["instruments"],
            languages=data["languages"],
            needed_by=entry["needed_by"],
            endorsed_on=entry.get("endorsed_on"),
            status=status,
            requested_by=user,
            created_at=entry["created_at"],
            updated_at=entry["created_at"],
        )
        requests.append(request)
        sectors.append(data["sectors"])
        matches.append(match)
    _bulk_create_with_sectors(ExchangeRequest, requests, sectors)
    Match.objects.bulk_create(
        [
            Match(
                request=r,
                offer=m["offer"],
                grant=m["grant"],
                matched_by=m["matched_by"],
                matched_at=m["matched_at"],
                year=timezone.localtime(m["matched_at"]).year,
            )
            for r, m in zip(requests, matches, strict=True)
            if m is not None
        ]
    )
    references_reserve(r.reference for r in requests)
    return requests


def _bulk_create_with_sectors(model, rows: list, sectors: list) -> None:
    """Insert offers or requests of the past (their own timestamps kept) and each one's
    sectors: ``offers_record_past`` and ``requests_record_past``."""
    with explicit_timestamps(model):
        model.objects.bulk_create(rows, batch_size=2000)
    through = model.sectors.through
    source = model.sectors.field.m2m_field_name() + "_id"
    through.objects.bulk_create(
        [
            through(**{source: row.pk, "sector_id": sector.pk})
            for row, chosen in zip(rows, sectors, strict=True)
            for sector in chosen
        ],
        batch_size=2000,
    )
