"""The web pages of results: the completion report, the donor's contribution dashboard
(with its charts, tables and CSV and XLSX downloads), the public knowledge hub and each results
story's page.

Reads go through ``results.selectors`` (the API's own, and the donor's part of the home
page), writes through ``results.services``; a grant the user may not see is a 404.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from grants.forms import CommentForm
from grants.models import CapacityOutcome, Grant, GrantStatus
from grants.permissions import can_see_report, can_write_report, is_leader_of
from grants.selectors import allowed_actions, grants_visible_to, visible_grant_or_404
from partners.models import ContributionStatus, Partner, Region, WindowKind, WindowStatus
from partners.roles import donor_partner_id, is_donor, is_fund_manager
from seetf.common import spreadsheets
from seetf.common.errors import ApplicationError
from seetf.common.forms import service_errors_on

from . import selectors, services
from .charts import bar_chart
from .filters import LessonFilter, ResultsStoryFilter
from .forms import (
    CompletionReportForm,
    ConcreteResultFormSet,
    DashboardPartnerForm,
    ReportReturnForm,
)
from .forms_follow_up import FollowUpNeedFormSet
from .models import CompletionReport
from .views_follow_up import needs_panel

HUB_PAGE_SIZE = 12
# The hub shows the newest reviewed lessons matching its filters (the API lists them all).
HUB_LESSONS = 10
ACCEPT_ID = "id_accept_%s"
RETURN_ID = "id_return_report_%s"
# The per-grant tables of the dashboard show this many rows; their CSV has them all.
TABLE_LIMIT = 100


# --- The completion report ----------------------------------------------------------------


def _report_of(request, pk):
    """The grant (404 unless visible) and its report (404 unless this user may read it)."""
    grant = visible_grant_or_404(
        request.user, pk, Grant.objects.select_related("sector", "task_team_leader")
    )
    report = (
        CompletionReport.objects.filter(grant=grant)
        .prefetch_related("concrete_results", "follow_up_needs__financed_by_grant")
        .first()
    )
    if not can_see_report(request.user, report, grant):
        raise Http404
    # The workflow's guards read the report through the grant: give them this one.
    Grant.completion_report.related.set_cached_value(grant, report)
    return grant, report


def _report_page(
    request,
    grant,
    report,
    form=None,
    results=None,
    accept_form=None,
    return_form=None,
    needs=None,
):
    user = request.user
    # Each form is offered while the service would take it (grants.workflow's table).
    verdicts = {row["action"]: row["allowed"] for row in allowed_actions(user, grant)}
    try:
        services.completion_report_save_check(grant=grant, user=user)
        writable = True
    except ApplicationError:
        writable = False
    if writable and form is None:
        form = CompletionReportForm(initial=CompletionReportForm.initial_for(report, grant))
        initial = [
            {"kind": r.kind, "description": r.description}
            for r in (report.concrete_results.all() if report else [])
        ]
        results = ConcreteResultFormSet(initial=initial, prefix="results")
        needs = FollowUpNeedFormSet(
            initial=[
                {"kind": n.kind, "description": n.description, "estimated_usd": n.estimated_usd}
                for n in (report.follow_up_needs.all() if report else [])
            ],
            prefix="needs",
        )
    acceptable = verdicts["accept-report"]
    closable = verdicts["close"]
    returned = (
        grant.history.filter(action="return-report").select_related("actor").order_by("-at", "-id")
    ).first()
    return render(
        request,
        "results/report.html",
        {
            "grant": grant,
            "report": report,
            "outcomes": [
                (code, label, report and code in report.outcomes_achieved)
                for code, label in CapacityOutcome.choices
            ],
            "form": form if writable else None,
            "results": results if writable else None,
            "needs": needs if writable else None,
            "follow_up_needs": needs_panel(user, grant, report) if not writable else [],
            "accept_form": (accept_form or CommentForm(auto_id=ACCEPT_ID)) if acceptable else None,
            "return_form": (return_form or ReportReturnForm(auto_id=RETURN_ID))
            if verdicts["return-report"]
            else None,
            # The fund manager's last comment, while the report is being revised.
            "last_return": returned if report and not report.submitted_at else None,
            "targeted_outcomes": [
                label
                for code, label in CapacityOutcome.choices
                if code in (grant.targeted_outcomes or [])
            ],
            # The close form posts to the grant's own action (grants.views.grant_action).
            "close_form": CommentForm(auto_id="id_close_%s") if closable else None,
            "is_leader": is_leader_of(user, grant),
        },
    )


@login_required
def completion_report(request, pk):
    """The leader writes the report while the grant is approved, saves it as often as
    needed and submits it (the grant is then completed); others read it."""
    grant, report = _report_of(request, pk)
    if request.method != "POST":
        return _report_page(request, grant, report)
    # The role first: a 403, not a page of errors about a form the user may not send.
    allowed, reason = can_write_report(request.user, grant)
    if not allowed:
        raise PermissionDenied(reason)
    form = CompletionReportForm(request.POST)
    results = ConcreteResultFormSet(request.POST, prefix="results")
    needs = FollowUpNeedFormSet(request.POST, prefix="needs")
    if all([form.is_valid(), results.is_valid(), needs.is_valid()]):
        submit = "submit" in request.POST
        with service_errors_on(form), transaction.atomic():
            services.completion_report_save(
                grant=grant,
                user=request.user,
                concrete_results=results.results(),
                follow_up_needs=needs.needs(),
                **form.cleaned_data,
            )
            if submit:
                services.completion_report_submit(grant=grant, user=request.user)
        if not form.errors:
            if submit:
                messages.success(
                    request, _("The completion report was submitted; the grant is completed.")
                )
                return redirect("grants:detail", pk=grant.pk)
            messages.success(request, _("The completion report was saved."))
            return redirect("results:report", pk=grant.pk)
    return _report_page(request, grant, report, form, results, needs=needs)


@login_required
@require_POST
def report_accept(request, pk):
    grant, report = _report_of(request, pk)
    form = CommentForm(request.POST, auto_id=ACCEPT_ID)
    if not form.is_valid():
        return _report_page(request, grant, report, accept_form=form)
    try:
        services.completion_report_accept(grant=grant, user=request.user, **form.cleaned_data)
    except ApplicationError as error:
        if error.status == 403:
            raise PermissionDenied(error.message) from error
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("The completion report was accepted; the grant can now be closed.")
        )
    return redirect("results:report", pk=grant.pk)


@login_required
@require_POST
def report_return(request, pk):
    """A fund manager sends the submitted report back to its leader for revision."""
    grant, report = _report_of(request, pk)
    form = ReportReturnForm(request.POST, auto_id=RETURN_ID)
    if not form.is_valid():
        return _report_page(request, grant, report, return_form=form)
    with service_errors_on(form):
        services.completion_report_return(grant=grant, user=request.user, **form.cleaned_data)
    if form.errors:
        return _report_page(request, grant, report, return_form=form)
    messages.success(
        request, _("The completion report was returned to the task team leader for revision.")
    )
    return redirect("results:report", pk=grant.pk)


# --- The donor dashboard ------------------------------------------------------------------


def _dashboard_partner(request):
    """Whose dashboard: a donor's own partner; a fund manager chooses one (``?partner=``).
    Returns the partner (or None while a fund manager has not chosen) and the form."""
    user = request.user
    if is_fund_manager(user):
        form = DashboardPartnerForm(request.GET if "partner" in request.GET else None)
        if form.is_bound and form.is_valid():
            return form.cleaned_data["partner"], form
        return None, form
    if is_donor(user):
        own = donor_partner_id(user)
        if own is None:
            raise Http404
        return Partner.objects.get(pk=own), None
    raise PermissionDenied(_("The donor dashboard is for donors and fund managers."))


def _status_label(code):
    return GrantStatus(code).label if code in GrantStatus.values else code


def _region_label(code):
    return Region(code).label if code in Region.values else code


def _largest_first(rows: list[dict]) -> list[dict]:
    """Bars read best longest first; the table and the CSV follow the chart's order."""
    return sorted(rows, key=lambda row: (-row["approved_usd"], str(row["name"])))


def dashboard_tables(partner, user) -> dict:
    """Every table of the dashboard, as ``{"rows", "totals"}`` like the API's reports:
    what the page draws and what its CSV downloads give."""
    data = selectors.donor_dashboard(partner=partner, user=user)
    portfolio = data["portfolio"]

    def with_totals(rows):
        return {
            "rows": rows,
            "totals": {
                "grants": sum(r["grants"] for r in rows),
                "approved_usd": sum((r["approved_usd"] for r in rows), 0),
            },
        }

    return {
        "dashboard": data,
        "contributions": {
            "rows": data["contributions"],
            "totals": {
                "pledged_usd": data["pledged_usd"],
                "received_usd": data["received_usd"],
                "outstanding_usd": sum((c["outstanding_usd"] for c in data["contributions"]), 0),
            },
        },
        "region": with_totals(
            _largest_first(
                [
                    {"region": r["region"], "name": _region_label(r["region"]), **r}
                    for r in portfolio["by_region"]
                ]
            )
        ),
        "sector": with_totals(_largest_first(portfolio["by_sector"])),
        "status": with_totals(
            [
                {"status": r["status"], "name": _status_label(r["status"]), **r}
                for r in portfolio["by_status"]
            ]
        ),
        "windows": {
            "rows": data["windows"],
            "totals": {
                key: sum((w[key] for w in data["windows"]), 0)
                for key in (
                    "allocated_usd",
                    "committed_usd",
                    "disbursed_usd",
                    "available_usd",
                    "grants",
                )
            },
        },
        "outcomes": selectors.capacity_outcomes_report(user=user),
        "follow_up": selectors.follow_up_report(user=user),
    }


# The dashboard's tables that download as CSV and XLSX, and the name each file is given.
CSV_TABLES = {
    "contributions": "contributions",
    "region": "portfolio-by-region",
    "sector": "portfolio-by-sector",
    "status": "portfolio-by-status",
    "windows": "funding-windows",
    "outcomes": "capacity-outcomes",
    "follow_up": "follow-up",
}


@login_required
def donor_dashboard(request):
    partner, form = _dashboard_partner(request)
    context = {"partner": partner, "partner_form": form}
    if partner is not None:
        tables = dashboard_tables(partner, request.user)
        data = tables["dashboard"]
        outcome_totals = tables["outcomes"]["totals"]
        context.update(
            tables=tables,
            data=data,
            fund=data["fund"],
            partner_query=f"?partner={partner.pk}" if form is not None else "",
            charts={
                "region": bar_chart(
                    "chart-region",
                    [(r["name"], r["approved_usd"]) for r in tables["region"]["rows"]],
                    money=True,
                ),
                "sector": bar_chart(
                    "chart-sector",
                    [(r["name"], r["approved_usd"]) for r in tables["sector"]["rows"]],
                    money=True,
                ),
                "status": bar_chart(
                    "chart-status",
                    [(r["name"], r["approved_usd"]) for r in tables["status"]["rows"]],
                    money=True,
                ),
                "outcomes": bar_chart(
                    "chart-outcomes",
                    [(label, outcome_totals[code]) for code, label in CapacityOutcome.choices],
                ),
                "contributions": bar_chart(
                    "chart-contributions",
                    [
                        (_("Pledged"), data["pledged_usd"]),
                        (_("Received"), data["received_usd"]),
                    ],
                    money=True,
                ),
            },
            outcome_columns=CapacityOutcome.choices,
            outcome_rows=[
                {**row, "marks": [(row[code], label) for code, label in CapacityOutcome.choices]}
                for row in tables["outcomes"]["rows"][:TABLE_LIMIT]
            ],
            follow_up_rows=tables["follow_up"]["rows"][:TABLE_LIMIT],
            table_limit=TABLE_LIMIT,
            outcome_totals=[
                (outcome_totals[code], label) for code, label in CapacityOutcome.choices
            ],
            stories=selectors.published_stories(request.user, 6),
        )
    return render(request, "results/dashboard.html", context)


# Per table: the codes of its download that get a label in a column beside them (the
# portfolio tables have theirs already, ``name``).
TABLE_LABELS = {
    "contributions": {"status": dict(ContributionStatus.choices)},
    "windows": {
        "kind": dict(WindowKind.choices),
        "region": dict(Region.choices),
        "status": dict(WindowStatus.choices),
    },
    "follow_up": {"status": dict(GrantStatus.choices), "region": dict(Region.choices)},
}


def _dashboard_table(request, table):
    """One table of the dashboard as a person downloads it (404 for an unknown one, or
    no partner chosen; ``spreadsheets.for_people``: no internal ids, labels beside
    codes, no column empty throughout) and the file name, without its extension."""
    if table not in CSV_TABLES:
        raise Http404
    partner, _form = _dashboard_partner(request)
    if partner is None:
        raise Http404
    data = spreadsheets.for_people(
        dashboard_tables(partner, request.user)[table],
        labels=TABLE_LABELS.get(table),
        drop=("id", "grant"),
    )
    return data, f"seetf-{partner.code}-{CSV_TABLES[table]}"


def _download(content, content_type, filename):
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def dashboard_csv(request, table):
    """One table of the dashboard as CSV: the rows, then a TOTAL line (as the API's
    report CSVs)."""
    data, name = _dashboard_table(request, table)
    return _download(spreadsheets.report_csv(data), "text/csv; charset=utf-8", f"{name}.csv")


@login_required
def dashboard_xlsx(request, table):
    """One table of the dashboard as an Excel workbook (as the API's `?format=xlsx`)."""
    data, name = _dashboard_table(request, table)
    content = spreadsheets.report_xlsx(data, title=CSV_TABLES[table])
    return _download(content, spreadsheets.XLSX_MEDIA_TYPE, f"{name}.xlsx")


# --- The knowledge hub and the stories ------------------------------------------------------


HUB_FILTERS = {
    "search": gettext_lazy("Search"),
    "region": gettext_lazy("Region"),
    "sector": gettext_lazy("Sector"),
    "country": gettext_lazy("Country"),
    "outcome": gettext_lazy("Capacity outcome"),
    "instrument": gettext_lazy("Instrument"),
}


def hub(request):
    """The knowledge hub: published results stories, searched and filtered like the
    API's list (ResultsStoryFilter). Fund managers also see drafts, marked as such.
    Below them, the newest reviewed lessons, filtered alike and by evidence level
    (LessonFilter)."""
    stories = selectors.stories_visible_to(request.user)
    filterset = ResultsStoryFilter(request.GET or None, queryset=stories)
    form = filterset.form
    for name, label in HUB_FILTERS.items():
        form.fields[name].label = label
    form.fields["country"].queryset = selectors.story_countries()
    form.fields["country"].help_text = _("Only the countries some story is about.")
    found = selectors.stories_with_names(filterset.qs)
    page = Paginator(found, HUB_PAGE_SIZE).get_page(request.GET.get("page"))
    lessons = LessonFilter(request.GET or None, queryset=selectors.reviewed_lessons())
    lessons.form.fields["evidence_level"].label = _("Evidence level")
    # With no filter given, every reviewed lesson; with a bad one, none (as the stories).
    lessons_valid = not lessons.is_bound or lessons.is_valid()
    return render(
        request,
        "results/hub.html",
        {
            "filterset": filterset,
            "filter_fields": [form[name] for name in HUB_FILTERS],
            "page": page,
            "lesson_filter": lessons.form["evidence_level"],
            "lessons_count": lessons.qs.count() if lessons_valid else 0,
            "lessons": list(selectors.with_lesson_relations(lessons.qs)[:HUB_LESSONS])
            if lessons_valid
            else [],
            "searched": bool(
                filterset.is_bound and form.is_valid() and form.cleaned_data["search"]
            ),
        },
    )


def story_detail(request, slug):
    story = get_object_or_404(
        selectors.stories_with_names(selectors.stories_visible_to(request.user)), slug=slug
    )
    grant_visible = (
        request.user.is_authenticated
        and grants_visible_to(request.user).filter(pk=story.grant_id).exists()
    )
    return render(request, "results/story.html", {"story": story, "grant_visible": grant_visible})
