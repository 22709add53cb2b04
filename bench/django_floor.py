"""The benchmark's Django floor: minimal Django views (no DRF) returning each endpoint's
JSON from ``.values()``, mounted under /bench/floor/ by bench/urls.py.

Each answers one of the benchmark's endpoints with the API's JSON, from the models'
.values(), with no DRF: authentication by token and the visibility rules written out,
the JSON built by hand. What is left is the cost of Django itself (the request, the
middleware, the ORM) and the queries.
"""

from datetime import UTC
from decimal import Decimal
from urllib.parse import parse_qs, urlencode

from django.contrib.auth.models import Group
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import (
    Count,
    DecimalField,
    F,
    Func,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import JsonResponse
from rest_framework.authtoken.models import Token

from grants.api.pagination import _beyond, _keyset_order, encode_cursor
from grants.models import APPROVED_AND_LATER, PIPELINE_STATUSES, Grant, GrantPartnerRole
from partners.models import Contribution, Fund, Partner
from partners.roles import Role
from results.models import OUTCOME_FIELDS, ResultsStory
from seetf.common.money import MONEY

CENT = Decimal("0.01")
GRANT_COLUMNS = (
    "id",
    "reference",
    "title",
    "summary",
    "task_team_leader_id",
    "sector_id",
    "region",
    "window_id",
    "requested_usd",
    "approved_usd",
    "disbursed_usd",
    "status",
    "development_goal",
    "targeted_outcomes",
    "planned_start",
    "planned_end",
    "completion_report_due",
    "submitted_at",
    "decided_at",
    "created_at",
    "recipient_endorsed_on",
    "brokered_match__request_id",
    "brokered_match__offer_id",
    "parent_id",
    "relation",
)


def _money(value):
    return None if value is None else f"{value.quantize(CENT):f}"


def _stamp(value):
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _day(value):
    return None if value is None else value.isoformat()


def _json(data, status=200):
    return JsonResponse(
        data, status=status, safe=False, json_dumps_params={"separators": (",", ":")}
    )


class _User:
    def __init__(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        row = (
            Token.objects.filter(key=header[6:].strip(), user__is_active=True)
            .values("user_id", "user__is_superuser")
            .first()
            if header.startswith("Token ")
            else None
        )
        self.ok = row is not None
        if self.ok:
            self.id, self.superuser = row["user_id"], row["user__is_superuser"]
            self.roles = set(
                Group.objects.filter(user=self.id, name__in=Role.values).values_list(
                    "name", flat=True
                )
            )

    def visible(self) -> Q:
        if self.superuser:
            return Q()
        condition = Q(pk__in=[])
        if Role.FUND_MANAGER in self.roles:
            condition |= ~Q(status="draft")
        if Role.TASK_TEAM_LEADER in self.roles:
            condition |= Q(task_team_leader_id=self.id) | Q(status__in=APPROVED_AND_LATER)
        if Role.DONOR in self.roles:
            condition |= Q(status__in=APPROVED_AND_LATER)
        return condition

    def statuses(self):
        """The project's own rule (``grants.selectors.statuses_seen``) for these roles."""
        from django.contrib.auth import get_user_model

        from grants.selectors import statuses_seen
        from partners.roles import remember_roles

        someone = get_user_model()(pk=self.id, is_superuser=self.superuser)
        remember_roles(someone, self.roles)
        return statuses_seen(someone)


def _authenticated(view):
    def wrapper(request, *args, **kwargs):
        user = _User(request)
        if not user.ok:
            return _json({"detail": "Authentication credentials were not provided."}, 401)
        return view(request, user, *args, **kwargs)

    return wrapper


def _url(request, query: dict) -> str:
    items = sorted(query.items())
    return request.build_absolute_uri(request.path) + (
        "?" + urlencode(items, doseq=True) if items else ""
    )


def _relations(ids) -> dict:
    out = {
        pk: {
            "recipient_countries": [],
            "provider_countries": [],
            "facilitating_partners": [],
            "partner_roles": [],
        }
        for pk in ids
    }
    roles = GrantPartnerRole.objects.filter(grant_id__in=ids).order_by("role", "partner_id")
    for grant_id, partner, role, cofinancing, kind in roles.values_list(
        "grant_id", "partner_id", "role", "cofinancing_usd", "partner__kind"
    ):
        out[grant_id]["partner_roles"].append(
            {
                "partner": partner,
                "role": role,
                "cofinancing_usd": _money(cofinancing),
                "partner_kind": kind,
            }
        )
    for name, value, order in (
        ("recipient_countries", "country_id", "country__name"),
        ("provider_countries", "country_id", "country__name"),
        ("facilitating_partners", "partner_id", "partner__name"),
    ):
        through = getattr(Grant, name).through
        for grant_id, code in (
            through.objects.filter(grant_id__in=ids).order_by(order).values_list("grant_id", value)
        ):
            out[grant_id][name].append(code)
    return out


def _grants(rows) -> list:
    related = _relations([r["id"] for r in rows])
    return [
        {
            "id": r["id"],
            "reference": r["reference"],
            "title": r["title"],
            "summary": r["summary"],
            "task_team_leader": r["task_team_leader_id"],
            "sector": r["sector_id"],
            "region": r["region"],
            "recipient_countries": related[r["id"]]["recipient_countries"],
            "provider_countries": related[r["id"]]["provider_countries"],
            "facilitating_partners": related[r["id"]]["facilitating_partners"],
            "window": r["window_id"],
            "partner_roles": related[r["id"]]["partner_roles"],
            "recipient_endorsed_on": _day(r["recipient_endorsed_on"]),
            "brokered_request": r["brokered_match__request_id"],
            "brokered_offer": r["brokered_match__offer_id"],
            "requested_usd": _money(r["requested_usd"]),
            "approved_usd": _money(r["approved_usd"]),
            "disbursed_usd": _money(r["disbursed_usd"]),
            "status": r["status"],
            "development_goal": r["development_goal"],
            "targeted_outcomes": r["targeted_outcomes"],
            "planned_start": _day(r["planned_start"]),
            "planned_end": _day(r["planned_end"]),
            "completion_report_due": _day(r["completion_report_due"]),
            "submitted_at": _stamp(r["submitted_at"]),
            "decided_at": _stamp(r["decided_at"]),
            "created_at": _stamp(r["created_at"]),
            "parent": r["parent_id"],
            "relation": r["relation"],
        }
        for r in rows
    ]


@_authenticated
def grant_list(request, user):
    query = parse_qs(request.META.get("QUERY_STRING", ""), keep_blank_values=True)
    grants = Grant.objects.filter(user.visible())
    if query.get("status"):
        grants = grants.filter(status__in=query["status"])
    field = (query.get("ordering") or ["-created_at"])[0]
    ordering = [field, "-id" if field.startswith("-") else "id"]
    size = min(500, int((query.get("page_size") or ["50"])[0]))
    count = grants.count()
    if "cursor" in query:
        from grants.api.pagination import decode_cursor

        token = query["cursor"][0]
        reverse = False
        if token:
            values, reverse = decode_cursor(token, ordering)
            grants = grants.filter(_beyond(ordering, values, reverse))
        rows = list(
            grants.order_by(*_keyset_order(ordering, reverse)).values(*GRANT_COLUMNS)[: size + 1]
        )
        more = len(rows) > size
        rows = rows[:size]
        if reverse:
            rows.reverse()
        base = {k: v for k, v in query.items() if k != "page"}
        nxt = prev = None
        if rows and (reverse or more):
            nxt = _url(request, {**base, "cursor": [encode_cursor(ordering, rows[-1], False)]})
        if rows and ((reverse and more) or (not reverse and token)):
            prev = _url(request, {**base, "cursor": [encode_cursor(ordering, rows[0], True)]})
        return _json({"count": count, "next": nxt, "previous": prev, "results": _grants(rows)})
    page = int((query.get("page") or ["1"])[0])
    pages = max(1, -(-count // size))
    if not 1 <= page <= pages:
        return _json({"detail": "Invalid page."}, 404)
    rows = list(grants.order_by(*ordering).values(*GRANT_COLUMNS)[(page - 1) * size : page * size])
    previous = None
    if page == 2:
        previous = _url(request, {k: v for k, v in query.items() if k != "page"})
    elif page > 2:
        previous = _url(request, {**query, "page": [str(page - 1)]})
    return _json(
        {
            "count": count,
            "next": _url(request, {**query, "page": [str(page + 1)]}) if page < pages else None,
            "previous": previous,
            "results": _grants(rows),
        }
    )


@_authenticated
def grant_detail(request, user, pk):
    rows = list(Grant.objects.filter(user.visible(), pk=pk).values(*GRANT_COLUMNS))
    if not rows:
        return _json({"detail": "No Grant matches the given query."}, 404)
    return _json(_grants(rows)[0])


def _sum(queryset, field):
    total = queryset.order_by().values(
        total=Func(F(field), function="SUM", output_field=DecimalField(**MONEY))
    )
    return Coalesce(Subquery(total), Value(Decimal("0")), output_field=DecimalField(**MONEY))


def _fund():
    from django.conf import settings
    from django.utils import timezone

    f = (
        Fund.objects.filter(pk=1)
        .annotate(
            pledged=_sum(Contribution.objects.all(), "pledged_usd"),
            pipeline=_sum(Grant.objects.filter(status__in=PIPELINE_STATUSES), "requested_usd"),
        )
        .values(
            "received_usd", "committed_usd", "disbursed_usd", "allocated_usd", "pledged", "pipeline"
        )
        .get()
    )
    return {
        "pledged_usd": _money(f["pledged"]),
        "received_usd": _money(f["received_usd"]),
        "committed_usd": _money(f["committed_usd"]),
        "disbursed_usd": _money(f["disbursed_usd"]),
        "allocated_usd": _money(f["allocated_usd"]),
        "available_usd": _money(f["received_usd"] - f["committed_usd"] - f["allocated_usd"]),
        "pipeline_usd": _money(f["pipeline"]),
        "low_balance_threshold_usd": _money(settings.FUNDING_ALERT_THRESHOLD_USD),
        "as_of": _stamp(timezone.now()),
    }, f["received_usd"]


@_authenticated
def fund(request, user):
    return _json(_fund()[0])


def _reported(user, where: Q):
    grants = Grant.objects.filter(
        where, status__in=("completed", "closed"), completion_report__isnull=False
    )
    if Role.FUND_MANAGER not in user.roles and not user.superuser:
        grants = grants.filter(
            Q(completion_report__accepted_at__isnull=False) | Q(task_team_leader_id=user.id)
        )
    return grants


@_authenticated
def capacity_outcomes(request, user):
    fields = [f"completion_report__{name}" for name in OUTCOME_FIELDS]
    rows = []
    totals = {"grants": 0, **dict.fromkeys(OUTCOME_FIELDS, 0)}
    for r in (
        _reported(user, user.visible())
        .order_by("reference", "id")
        .values_list("id", "reference", "title", *fields)
    ):
        row = {"grant": r[0], "reference": r[1], "title": r[2]}
        for name, value in zip(OUTCOME_FIELDS, r[3:], strict=True):
            row[name] = value
            totals[name] += value
        rows.append(row)
    totals["grants"] = len(rows)
    return _json({"rows": rows, "totals": totals})


@_authenticated
def donor_dashboard(request, user):
    partner = Partner.objects.filter(members__user=user.id).values("id", "code", "name").first()
    if Role.DONOR not in user.roles or partner is None:
        return _json({"detail": "Not found."}, 404)
    contributions = list(
        Contribution.objects.filter(partner_id=partner["id"])
        .order_by("signed_on", "id")
        .values(
            "id",
            "reference",
            "currency",
            "pledged_amount",
            "pledged_usd",
            "received_amount",
            "received_usd",
        )
    )
    summary, fund_received = _fund()
    by = {"region": {}, "sector": {}, "status": {}}
    for g in (
        Grant.objects.filter(status__in=APPROVED_AND_LATER)
        .order_by()
        .values("region", "sector_id", "sector__name", "status")
        .annotate(n=Count("pk"), approved=Sum("approved_usd"))
    ):
        for key, label in (
            ("region", g["region"]),
            ("sector", (g["sector_id"], g["sector__name"])),
            ("status", g["status"]),
        ):
            entry = by[key].setdefault(label, [0, Decimal("0")])
            entry[0] += g["n"]
            entry[1] += g["approved"] or 0
    outcomes = _reported(user, user.visible()).aggregate(
        grants=Count("pk"),
        **{
            name: Count("pk", filter=Q(**{f"completion_report__{name}": True}))
            for name in OUTCOME_FIELDS
        },
    )
    received = sum((c["received_usd"] for c in contributions), Decimal("0.00"))
    pledged = sum((c["pledged_usd"] for c in contributions), Decimal("0.00"))
    share = (received / fund_received * 100).quantize(CENT) if fund_received else Decimal("0")
    items = []
    for c in contributions:
        p_amount, r_amount = c["pledged_amount"], c["received_amount"]
        outstanding = (
            Decimal("0.00")
            if r_amount >= p_amount
            else (c["pledged_usd"] * (p_amount - r_amount) / p_amount).quantize(CENT)
        )
        status = (
            "pledged"
            if r_amount == 0
            else ("partially_received" if r_amount < p_amount else "received")
        )
        items.append(
            {
                "id": c["id"],
                "reference": c["reference"],
                "currency": c["currency"],
                "pledged_amount": _money(p_amount),
                "pledged_usd": _money(c["pledged_usd"]),
                "received_usd": _money(c["received_usd"]),
                "outstanding_usd": _money(outstanding),
                "status": status,
            }
        )
    return _json(
        {
            "partner": partner,
            "contributions": items,
            "pledged_usd": _money(pledged),
            "received_usd": _money(received),
            "share_of_fund_received_percent": _money(share),
            "fund": summary,
            "portfolio": {
                "by_region": [
                    {"grants": n, "approved_usd": _money(a), "region": k}
                    for k, (n, a) in sorted(by["region"].items())
                ],
                "by_sector": [
                    {"grants": n, "approved_usd": _money(a), "sector": k[0], "name": k[1]}
                    for k, (n, a) in sorted(by["sector"].items())
                ],
                "by_status": [
                    {"grants": n, "approved_usd": _money(a), "status": k}
                    for k, (n, a) in sorted(by["status"].items())
                ],
            },
            "windows": _windows(),
            "outcome_totals": outcomes,
            "cofinancing": _cofinancing(partner["id"]),
        }
    )


def _windows():
    from django.db.models import Count, Q

    from partners.models import Window

    rows = (
        Window.objects.annotate(
            financed=Count("grants", filter=Q(grants__status__in=APPROVED_AND_LATER))
        )
        .order_by("code")
        .values_list(
            "code",
            "name",
            "kind",
            "region",
            "status",
            "allocated_usd",
            "committed_usd",
            "disbursed_usd",
            "financed",
        )
    )
    return [
        {
            "code": code,
            "name": name,
            "kind": kind,
            "region": region,
            "status": status,
            "allocated_usd": _money(allocated),
            "committed_usd": _money(committed),
            "disbursed_usd": _money(disbursed),
            "available_usd": _money(allocated - committed),
            "grants": financed,
        }
        for code, name, kind, region, status, allocated, committed, disbursed, financed in rows
    ]


def _cofinancing(partner_id) -> dict:
    found = GrantPartnerRole.objects.filter(
        role="cofinancier", grant__status__in=APPROVED_AND_LATER
    ).aggregate(
        total=Sum("cofinancing_usd"),
        own=Sum("cofinancing_usd", filter=Q(partner_id=partner_id)),
        grants=Count("grant", distinct=True),
    )
    zero = Decimal("0")
    return {
        "partner_usd": _money(found["own"] or zero),
        "all_usd": _money(found["total"] or zero),
        "grants": found["grants"],
    }


@_authenticated
def stories(request, user):
    query = parse_qs(request.META.get("QUERY_STRING", ""), keep_blank_values=True)
    text = (query.get("search") or [""])[0]
    size = 50
    found = ResultsStory.objects.all()
    if Role.FUND_MANAGER not in user.roles and not user.superuser:
        found = found.filter(published=True)
    search = SearchQuery(text, search_type="websearch", config="english")
    found = found.filter(search_vector=search)
    count = found.count()
    rows = list(
        found.annotate(rank=SearchRank(F("search_vector"), search))
        .order_by("-rank", F("published_at").desc(nulls_last=True), "-id")
        .values(
            "id",
            "slug",
            "grant_id",
            "grant__reference",
            "title",
            "body",
            "body_html",
            "published",
            "published_at",
        )[:size]
    )
    ids = [r["id"] for r in rows]
    related = {pk: {"sectors": [], "countries": [], "outcomes": []} for pk in ids}
    for name, value, order in (
        ("sectors", "sector_id", "sector_id"),
        ("countries", "country_id", "country__name"),
        ("outcomes", "outcome_id", "outcome_id"),
    ):
        through = getattr(ResultsStory, name).through
        for story, code in (
            through.objects.filter(resultsstory_id__in=ids)
            .order_by(order)
            .values_list("resultsstory_id", value)
        ):
            related[story][name].append(code)
    results = [
        {
            "id": r["id"],
            "slug": r["slug"],
            "grant": r["grant_id"],
            "grant_reference": r["grant__reference"],
            "title": r["title"],
            "body": r["body"],
            "body_html": r["body_html"],
            **related[r["id"]],
            "published": r["published"],
            "published_at": _stamp(r["published_at"]),
        }
        for r in rows
    ]
    nxt = _url(request, {**query, "page": ["2"]}) if count > size else None
    return _json({"count": count, "next": nxt, "previous": None, "results": results})


# --- The analytics reports (analytics.api) ----------------------------------------------------
# On PostgreSQL each report is the database's work: one statement for the cycle times and
# the flows (analytics.cycletimes_sql, flows_sql), three aggregates for the indicators.
# The floor runs the same statements over the grants the user may see, with no DRF, no
# filter set, no report cache and no serializer: what is left above it in the API is the
# framework and the cache's bookkeeping.


def _report_json(data):
    """The report as DRF renders it: decimals as JSON numbers (coerce_to_string off)."""

    def plain(value):
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, Decimal):
            return float(value)
        return value

    return _json(plain(data))


@_authenticated
def cycle_times(request, user):
    from analytics.cycletimes_sql import cycle_times_postgres

    group_by = request.GET.get("group_by", "quarter")
    return _report_json(cycle_times_postgres(Grant.objects.filter(user.visible()), group_by))


@_authenticated
def portfolio_indicators(request, user):
    from analytics.portfolio import approved_in_period, approved_statuses, portfolio_indicators

    grants = approved_in_period(Grant.objects.filter(user.visible()))
    report = portfolio_indicators(grants, approved_statuses(user.statuses()))
    for row in report["rows"]:
        row["value"] = None if row["value"] is None else str(row["value"])
    return _report_json(report)


@_authenticated
def exchange_flows(request, user):
    from analytics.flows_sql import exchange_flows_postgres

    by = request.GET.get("by", "country")
    grants = Grant.objects.filter(user.visible())
    return _report_json(exchange_flows_postgres(grants, by, user.statuses()))


# --- Brokering (brokering.api.views) ------------------------------------------------------------
# The catalogue's rows and the offers suggested as OfferSerializer gives them (with the
# contacts: every user measured has a role), from .values(); the suggestions' ranking is
# the project's own (brokering.scoring.suggest: on PostgreSQL one statement), so the
# floor's cost above it is the request and the offers' rows.

OFFER_COLUMNS = (
    "id",
    "reference",
    "title",
    "description",
    "rendered_description",
    "provider_country_id",
    "institution",
    "instruments",
    "languages",
    "capacity_per_year",
    "status",
    "contact_name",
    "contact_email",
)


def _offer_rows(offers) -> list[dict]:
    """The offers (a queryset, in its order) as the API represents them: two queries
    (the offers with their matches this year, their sectors)."""
    from django.db.models import IntegerField, OuterRef
    from django.utils import timezone

    from brokering.models import Match, Offer

    matches = (
        Match.objects.filter(offer=OuterRef("pk"), year=timezone.localdate().year)
        .order_by()
        .values("offer")
        .annotate(n=Count("id"))
        .values("n")
    )
    rows = list(
        offers.annotate(used=Coalesce(Subquery(matches, output_field=IntegerField()), 0)).values(
            *OFFER_COLUMNS, "used"
        )
    )
    sectors: dict[int, list] = {r["id"]: [] for r in rows}
    for offer_id, code in (
        Offer.sectors.through.objects.filter(offer_id__in=list(sectors))
        .order_by("sector_id")
        .values_list("offer_id", "sector_id")
    ):
        sectors[offer_id].append(code)
    return [
        {
            "id": r["id"],
            "reference": r["reference"],
            "title": r["title"],
            "description": r["description"],
            "description_html": r["rendered_description"],  # kept by the offers' writers
            "provider_country": r["provider_country_id"],
            "institution": r["institution"],
            "sectors": sectors[r["id"]],
            "instruments": r["instruments"],
            "languages": r["languages"],
            "capacity_per_year": r["capacity_per_year"],
            "capacity_left": r["capacity_per_year"] - r["used"],
            "status": r["status"],
            "contact_name": r["contact_name"],
            "contact_email": r["contact_email"],
        }
        for r in rows
    ]


@_authenticated
def offers(request, user):
    from django.db.models import TextField
    from django.db.models.functions import Cast

    from brokering.models import Offer

    query = parse_qs(request.META.get("QUERY_STRING", ""), keep_blank_values=True)
    found = Offer.objects.all()
    if Role.FUND_MANAGER not in user.roles and not user.superuser:
        found = found.filter(Q(status="published") | Q(created_by_id=user.id))
    for word in (query.get("search") or [""])[0].split()[:10]:
        found = found.filter(
            Q(title__icontains=word)
            | Q(description__icontains=word)
            | Q(institution__icontains=word)
        )
    language = (query.get("language") or [""])[0]
    if language:
        found = found.annotate(_languages=Cast("languages", TextField())).filter(
            _languages__contains=f'"{language}"'
        )
    size = 50
    count = found.count()
    results = _offer_rows(found.order_by("id")[:size])
    nxt = _url(request, {**query, "page": ["2"]}) if count > size else None
    return _json({"count": count, "next": nxt, "previous": None, "results": results})


@_authenticated
def suggestions(request, user, pk):
    from brokering.models import ExchangeRequest, Offer
    from brokering.scoring import DEFAULT_LIMIT, suggest

    found = (
        ExchangeRequest.objects.select_related("recipient_country")
        .prefetch_related("sectors")
        .filter(pk=pk)
        .first()
    )
    if found is None or not (user.roles or user.superuser):
        return _json({"detail": "Not found."}, 404)
    ranked = suggest(found, limit=DEFAULT_LIMIT)
    shown = {
        r["id"]: r for r in _offer_rows(Offer.objects.filter(pk__in=[s.offer_id for s in ranked]))
    }
    return _json(
        [{"offer": shown[s.offer_id], "score": s.score, "reasons": s.reasons} for s in ranked]
    )


# --- Windows and notifications (partners.api.windows, collaboration.api) ---------------------
# The first page of each (50 rows), with the count read only when the page is full.

WINDOW_COLUMNS = (
    "id",
    "code",
    "name",
    "kind",
    "region",
    "max_grant_usd",
    "opens_on",
    "closes_on",
    "status",
    "allocated_usd",
    "committed_usd",
    "disbursed_usd",
)
PAGE = 50


def _first_page(request, rows, count) -> dict:
    more = count > PAGE
    return {
        "count": count,
        "next": _url(request, {**dict(request.GET.lists()), "page": ["2"]}) if more else None,
        "previous": None,
        "results": rows,
    }


@_authenticated
def windows(request, user):
    from partners.models import Window, WindowApprover

    if not (user.superuser or user.roles):
        return _json({"detail": "Only signed-in users of the fund read its funding windows."}, 403)
    rows = list(Window.objects.order_by("code").values(*WINDOW_COLUMNS)[: PAGE + 1])
    count = len(rows) if len(rows) <= PAGE else Window.objects.count()
    rows = rows[:PAGE]
    ids = [row["id"] for row in rows]
    sectors: dict = {pk: [] for pk in ids}
    for window_id, sector_id in (
        Window.sectors.through.objects.filter(window_id__in=ids)
        .order_by("sector_id")
        .values_list("window_id", "sector_id")
    ):
        sectors[window_id].append(sector_id)
    approvers: dict = {pk: [] for pk in ids}
    for window_id, username, limit in (
        WindowApprover.objects.filter(window_id__in=ids)
        .order_by("user__username")
        .values_list("window_id", "user__username", "limit_usd")
    ):
        approvers[window_id].append({"user": username, "limit_usd": _money(limit)})
    results = [
        {
            "id": r["id"],
            "code": r["code"],
            "name": r["name"],
            "kind": r["kind"],
            "region": r["region"] or None,
            "sectors": sectors[r["id"]],
            "max_grant_usd": _money(r["max_grant_usd"]),
            "opens_on": _day(r["opens_on"]),
            "closes_on": _day(r["closes_on"]),
            "status": r["status"],
            "allocated_usd": _money(r["allocated_usd"]),
            "committed_usd": _money(r["committed_usd"]),
            "disbursed_usd": _money(r["disbursed_usd"]),
            "available_usd": _money(r["allocated_usd"] - r["committed_usd"]),
            "approvers": approvers[r["id"]],
        }
        for r in rows
    ]
    return _json(_first_page(request, results, count))


@_authenticated
def notifications(request, user):
    from collaboration.models import Notification

    mine = Notification.objects.filter(user_id=user.id)
    rows = list(
        mine.order_by("-created_at", "-id").values(
            "id", "kind", "grant_id", "text", "created_at", "read_at"
        )[: PAGE + 1]
    )
    count = len(rows) if len(rows) <= PAGE else mine.count()
    results = [
        {
            "id": r["id"],
            "kind": r["kind"],
            "grant": r["grant_id"],
            "text": r["text"],
            "created_at": _stamp(r["created_at"]),
            "read_at": _stamp(r["read_at"]),
        }
        for r in rows[:PAGE]
    ]
    return _json(_first_page(request, results, count))
