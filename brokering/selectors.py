"""Reads for brokering: who sees which offers and requests, capacity, the open
requests' queue."""

from django.db.models import Count, F, Func, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from partners.roles import is_fund_manager

from .models import ExchangeRequest, Match, Offer, OfferStatus, RequestStatus
from .permissions import has_a_role, is_signed_in


def offers_visible_to(user):
    """Everyone (anonymous visitors included) sees published offers; fund managers see
    every offer; a signed-in author sees their own drafts and withdrawn offers."""
    offers = Offer.objects.all()
    if is_signed_in(user) and is_fund_manager(user):
        return offers
    if is_signed_in(user):
        return offers.filter(Q(status=OfferStatus.PUBLISHED) | Q(created_by=user))
    return offers.filter(status=OfferStatus.PUBLISHED)


def offers_visible_count(user) -> int:
    """How many offers ``offers_visible_to(user)`` gives, counted on the status index in
    one statement: the published ones, plus a signed-in author's others (a subquery on
    their key). Counting the rule's OR read every row of the table; a UNION ALL of the
    two, which PostgreSQL ran in parallel workers, took four times as long at 100,000
    offers (14 against 3.4 ms)."""
    if is_signed_in(user) and is_fund_manager(user):
        return Offer.objects.count()
    published = Offer.objects.filter(status=OfferStatus.PUBLISHED)
    if not is_signed_in(user):
        return published.count()
    own = (
        Offer.objects.filter(created_by=user)
        .exclude(status=OfferStatus.PUBLISHED)
        .order_by()
        .annotate(n=Func(template="COUNT(*)", output_field=IntegerField()))
        .values("n")
    )
    return published.aggregate(n=Count("*") + Subquery(own))["n"]


def requests_visible_to(user):
    """Signed-in users with a role read every request; nobody else any."""
    if has_a_role(user):
        return ExchangeRequest.objects.all()
    return ExchangeRequest.objects.none()


def capacity_used(offer_ids, year: int | None = None) -> dict[int, int]:
    """{offer id: matches this year} for these offers (one query)."""
    year = year or timezone.localdate().year
    rows = (
        Match.objects.filter(offer_id__in=offer_ids, year=year)
        .values("offer_id")
        .annotate(n=Count("id"))
        .values_list("offer_id", "n")
    )
    return dict(rows)


def with_capacity(offers, year: int | None = None):
    """Offers annotated with ``matches_this_year`` (a correlated subquery, no extra
    query: not a join and GROUP BY over every column of the offers, which made counting
    a filtered catalogue group all of it)."""
    year = year or timezone.localdate().year
    matches = (
        Match.objects.filter(offer=OuterRef("pk"), year=year)
        .order_by()
        .values("offer")
        .annotate(n=Count("id"))
        .values("n")
    )
    return offers.annotate(
        matches_this_year=Coalesce(Subquery(matches, output_field=IntegerField()), 0)
    ).annotate(capacity_left=F("capacity_per_year") - F("matches_this_year"))


def open_requests_queue():
    """Open requests, the longest waiting first (the fund managers' view)."""
    return (
        ExchangeRequest.objects.filter(status=RequestStatus.OPEN)
        .select_related("recipient_country", "requested_by")
        .prefetch_related("sectors")
        .order_by("created_at", "id")
    )
