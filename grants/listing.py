"""The grant list page's table: its columns, its server-side sort, its totals and its
downloads (CSV and XLSX of the filtered list, every row, not one page).

The filters are the API's (``filters.GrantFilter``) and so is the sort's vocabulary
(``filters.GRANT_ORDERING_FIELDS``, the ``ordering`` parameter): a list seen on the page
is the list the API answers for the same query string. The queries do not grow with the
list: the count, the page (its sector, leader and window joined), one query for each
kind of country, and one aggregate for the three totals.
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Sum
from django.utils.translation import gettext_lazy as _

from partners.models import Country

from .filters import GRANT_ORDERING_FIELDS
from .models import GrantStatus

DEFAULT_ORDERING = ["-created_at", "-id"]


@dataclass(frozen=True)
class Column:
    """A column of the table; ``sorts`` are its sort links, ``(ordering field, label)``
    (the planned dates' column has two: by start and by end)."""

    key: str
    label: str
    sorts: tuple = ()
    num: bool = False


COLUMNS = [
    Column("reference", _("Reference"), (("reference", _("Reference")),)),
    Column("title", _("Title"), (("title", _("Title")),)),
    Column("status", _("Status"), (("status", _("Status")),)),
    Column("leader", _("Leader")),
    Column("countries", _("Countries")),
    Column("window", _("Window")),
    Column("planned", _("Planned"), (("planned_start", _("Start")), ("planned_end", _("End")))),
    Column("requested_usd", _("Requested (USD)"), (("requested_usd", _("Requested (USD)")),), True),
    Column("approved_usd", _("Approved (USD)"), (("approved_usd", _("Approved (USD)")),), True),
    Column("disbursed_usd", _("Disbursed (USD)"), (("disbursed_usd", _("Disbursed (USD)")),), True),
]
# The sortable columns: each one the API's ``ordering`` accepts too.
SORTABLE = {field for c in COLUMNS for field, _label in c.sorts} & set(GRANT_ORDERING_FIELDS)


def ordering_of(value: str | None) -> tuple[list[str], str]:
    """The ``order_by`` of ``?ordering=`` (one of the sortable columns, ``-`` for
    descending; the id breaks ties so pages do not shuffle) and the value kept, ""
    for the default order (newest first) when it names none."""
    value = (value or "").strip()
    field = value.removeprefix("-")
    if field not in SORTABLE:
        return DEFAULT_ORDERING, ""
    return [value, "-id" if value.startswith("-") else "id"], value


def headers(query, current: str) -> list[dict]:
    """Each column's header: its label, its sort links (ascending first, then the other
    way, the other filters kept and the page reset) and its ``aria-sort``, "none" for a
    sortable column the list is not sorted by."""
    out = []
    for column in COLUMNS:
        header = {"column": column, "aria_sort": "", "links": []}
        for field, label in column.sorts:
            ascending = current == field
            descending = current == "-" + field
            params = query.copy()
            params.pop("page", None)
            params.pop("format", None)
            params["ordering"] = "-" + field if ascending else field
            state = "ascending" if ascending else "descending" if descending else "none"
            header["links"].append(
                {"field": field, "label": label, "url": "?" + params.urlencode(), "state": state}
            )
            if state != "none" or not header["aria_sort"]:
                header["aria_sort"] = state
        out.append(header)
    return out


def with_relations(grants):
    """The grants with what the table shows of each, in a fixed number of queries."""
    countries = Country.objects.only("code", "name").order_by("code")
    return grants.select_related("sector", "task_team_leader", "window").prefetch_related(
        Prefetch("recipient_countries", queryset=countries),
        Prefetch("provider_countries", queryset=countries),
    )


def totals(grants) -> dict:
    """Requested, approved and disbursed money of the whole filtered list: one query."""
    sums = grants.order_by().aggregate(
        requested_usd=Sum("requested_usd"),
        approved_usd=Sum("approved_usd"),
        disbursed_usd=Sum("disbursed_usd"),
    )
    return {key: value or 0 for key, value in sums.items()}


def export_rows(grants) -> list[dict]:
    """The filtered list as a spreadsheet's rows for people: readable labels beside the
    codes, names not ids (``seetf.common.spreadsheets`` writes them)."""
    username = get_user_model().USERNAME_FIELD
    status_label = dict(GrantStatus.choices)
    rows = []
    for grant in with_relations(grants):
        leader = grant.task_team_leader
        rows.append(
            {
                "reference": grant.reference or "",
                "title": grant.title,
                "status": grant.status,
                "status_label": str(status_label.get(grant.status, grant.status)),
                "task_team_leader": getattr(leader, username),
                "leader_name": leader.get_full_name(),
                "region": grant.region,
                "region_name": grant.get_region_display(),
                "sector": grant.sector.name if grant.sector_id else "",
                "recipient_countries": ", ".join(c.name for c in grant.recipient_countries.all()),
                "provider_countries": ", ".join(c.name for c in grant.provider_countries.all()),
                "window": f"{grant.window.code} {grant.window.name}" if grant.window_id else "",
                "planned_start": grant.planned_start,
                "planned_end": grant.planned_end,
                "requested_usd": grant.requested_usd,
                "approved_usd": grant.approved_usd,
                "disbursed_usd": grant.disbursed_usd,
            }
        )
    return rows
