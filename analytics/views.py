"""The analytics pages: the fund manager's Process page (the cycle-time trend and the
grants overdue against the service standards) and "Who learned from whom" (the world map
of the exchanges, the region matrix and the country flows), with their downloads."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from grants.selectors import grants_visible_to, statuses_seen, visibility_key
from partners.roles import is_fund_manager, user_roles
from seetf.common import spreadsheets
from seetf.common.datacache import cached

from . import charts, cycletimes, portfolio, worldmap

FLOW_TABLES = {"countries": "country", "regions": "region"}
FLOW_TABLE_LIMIT = 25
OVERDUE_PAGE_LIMIT = 200
TREND_STEPS = ("submit_to_decision", "decision_to_first_disbursement")


def flow_grants(user):
    """The grants whose exchanges a visitor's map shows, a name for them, and their
    statuses when they are whole statuses (``statuses_seen``): a signed-in user with a
    role those they may see; everyone else what the fund publishes (approved and later)."""
    if user.is_authenticated and (user.is_superuser or user_roles(user)):
        return grants_visible_to(user), visibility_key(user), statuses_seen(user)
    return portfolio.public_grants(), "public", portfolio.PUBLIC_STATUSES


def flows_for(user) -> dict:
    """The flows by country and by region, cached until the data changes."""
    grants, key, statuses = flow_grants(user)
    return cached(
        ("exchange-flows-page", key), lambda: portfolio.exchange_flows_both(grants, statuses)
    )


def exchange_map_context(user, *, limit: int | None = FLOW_TABLE_LIMIT) -> dict:
    """What ``analytics/_exchange_map.html`` draws: the map, the region matrix, the
    country flows (the first ``limit``), and where to download them."""
    flows = flows_for(user)
    country_rows = flows["country"]["rows"]
    return {
        "map": worldmap.world_map(country_rows),
        "matrix": portfolio.region_matrix(flows["region"]),
        "country_rows": country_rows if limit is None else country_rows[:limit],
        "country_total": len(country_rows),
        "totals": flows["country"]["totals"],
        "limited": limit is not None and len(country_rows) > limit,
    }


@login_required
def process(request):
    """Fund managers: how long each step takes per quarter, against the standards.

    The page's body (the trend's chart and table, some 250 rows with the overdue list)
    is kept rendered, like the API's reports (``cached_response``), until the data
    changes or the day does: rendering its 3,400 values cost more than reading them
    from the cache. The first request after a change computes and renders it again."""
    if not is_fund_manager(request.user):
        raise PermissionDenied(_("The process page is for fund managers."))
    grants = grants_visible_to(request.user)
    key = visibility_key(request.user)
    today = timezone.localdate()
    body = cached(
        ("process-page", key, today.isoformat()),
        lambda: render_to_string("analytics/_process_body.html", _process_body(grants, key, today)),
    )
    return render(request, "analytics/process.html", {"body": body})


def _process_body(grants, key, today) -> dict:
    # The report does not depend on the day: kept on its own until the data changes.
    report = cached(
        ("cycle-times-page", key),
        lambda: cycletimes.cycle_times_report(grants, group_by="quarter"),
    )
    standards = report["standards"]
    rows = report["rows"]
    labels = [row["group"] for row in rows]
    chart = charts.line_chart(
        "chart-cycle-times",
        labels,
        [
            (
                str(cycletimes.STEP_LABELS[step]),
                f"line--{index}",
                [row[f"{step}_median_days"] for row in rows],
            )
            for index, step in enumerate(TREND_STEPS)
        ],
        reference=(
            (standards["submit_to_decision"], _("Standard for a decision"))
            if "submit_to_decision" in standards
            else None
        ),
    )
    # Every grant overdue is counted (the open grants all read).
    overdue = cycletimes.overdue_against_standards(grants, today=today)
    return {
        "chart": chart,
        "rows": rows,
        "totals": report["totals"],
        "standards": [
            (str(cycletimes.STEP_LABELS[step]), days) for step, days in standards.items()
        ],
        "standard_decision": standards.get("submit_to_decision"),
        "standard_disbursement": standards.get("decision_to_first_disbursement"),
        "overdue": overdue[:OVERDUE_PAGE_LIMIT],
        "overdue_count": len(overdue),
        "overdue_limit": OVERDUE_PAGE_LIMIT,
    }


def flows(request):
    """Everyone: the world map of the exchanges, the region matrix, the country flows."""
    return render(
        request,
        "analytics/flows.html",
        {"exchange_map": exchange_map_context(request.user, limit=None)},
    )


def _flow_table(request, table):
    if table not in FLOW_TABLES:
        raise Http404
    return flows_for(request.user)[FLOW_TABLES[table]], f"seetf-exchange-flows-{table}"


def _download(content, content_type, filename):
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def flows_csv(request, table):
    data, name = _flow_table(request, table)
    return _download(spreadsheets.report_csv(data), "text/csv; charset=utf-8", f"{name}.csv")


def flows_xlsx(request, table):
    data, name = _flow_table(request, table)
    content = spreadsheets.report_xlsx(data, title=f"exchange-flows-{table}")
    return _download(content, spreadsheets.XLSX_MEDIA_TYPE, f"{name}.xlsx")
