"""The web pages of grants: the list, the proposal form, the grant page with its
decisions, exchanges and disbursements. (Each role's part of the home page is read by
``selectors.manager_home`` and ``selectors.leader_home``.)

Every page starts from ``selectors.grants_visible_to(user)`` (a grant the user may not
see is a 404) and every change goes through the services the API uses, which decide
who may do what: a refusal for the role is the 403 page, a refusal for the state of
things (not enough money, wrong status) is shown on the page, and a ValidationError is
put next to the field it names, keeping what was typed.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connection, transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.forms import CheckboxSelectMultiple
from django.forms.utils import ErrorDict
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from partners.forms import ReversalForm, mark_reversals
from partners.models import Country
from partners.roles import is_fund_manager
from seetf.common import spreadsheets
from seetf.common.errors import ApplicationError
from seetf.common.forms import apply_service_errors, quick_selects, service_errors_on
from seetf.common.idempotency import once_per_form
from seetf.common.prepared import Prepared

from . import listing, selectors, services, workflow
from .filters import GrantFilter
from .forms import (
    DisbursementForm,
    ExchangeForm,
    PlannedExchangeFormSet,
    ProposalForm,
)
from .models import (
    APPROVED_AND_LATER,
    CapacityOutcome,
    Disbursement,
    Exchange,
    Grant,
    GrantHistory,
    GrantPartnerRole,
    GrantStatus,
)
from .permissions import (
    approval_limit,
    can_create_grant,
    can_disburse,
    can_see_report,
    delegated_limit,
    is_leader_of,
)

PAGE_SIZE = 25
OUTCOME_LABELS = dict(CapacityOutcome.choices)


def _refuse(request, error: ApplicationError, grant: Grant):
    """A refusal for the role is the 403 page; one for the state of things goes back to
    the grant page with the reason."""
    if error.status == 403:
        raise PermissionDenied(error.message)
    messages.error(request, error.message)
    return redirect("grants:detail", pk=grant.pk)


def _ref(grant: Grant) -> str:
    return grant.reference or grant.title


# --- The list ---------------------------------------------------------------------------


FILTER_LABELS = {
    "search": gettext_lazy("Reference, leader or words of the title"),
    "status": gettext_lazy("Status"),
    "sector": gettext_lazy("Sector"),
    "region": gettext_lazy("Region"),
    "recipient_country": gettext_lazy("Recipient country"),
    "provider_country": gettext_lazy("Provider country"),
    "min_usd": gettext_lazy("Requested at least (USD)"),
    "max_usd": gettext_lazy("Requested at most (USD)"),
}
# The filters' help as a person reads it (the FilterSet's is the API's documentation).
FILTER_HELP = {
    "search": gettext_lazy(
        "A reference (SEETF-2026-0012), a leader's name or words of the title or summary."
    ),
    "recipient_country": gettext_lazy("The country that learns."),
    "provider_country": gettext_lazy("The country that shares its experience."),
    "status": "",
    "min_usd": "",
    "max_usd": "",
}


@login_required
def grant_list(request):
    """Every grant the user may see, filtered like the API's list (GrantFilter) and
    sorted by the column asked for (``?ordering=``, the API's vocabulary), with the
    totals of the whole filtered list; ``?format=csv`` or ``xlsx`` downloads it all.
    Filters the form refuses (a minimum above the maximum) are shown as errors, never
    read as a list that matches nothing."""
    order_by, ordering = listing.ordering_of(request.GET.get("ordering"))
    grants = selectors.grants_visible_to(request.user).order_by(*order_by)
    filterset = GrantFilter(request.GET or None, queryset=grants)
    form = filterset.form
    for name, label in FILTER_LABELS.items():
        form.fields[name].label = label
    for name, text in FILTER_HELP.items():
        form.fields[name].help_text = text
    form.fields["status"].widget = CheckboxSelectMultiple(choices=GrantStatus.choices)
    refused = filterset.is_bound and not form.is_valid()
    found = grants.none() if refused else filterset.qs
    download = request.GET.get("format")
    if download in ("csv", "xlsx") and not refused:
        return _grant_list_download(found, download)
    page = Paginator(listing.with_relations(found), PAGE_SIZE).get_page(request.GET.get("page"))
    chosen = {} if refused or not filterset.is_bound else form.cleaned_data
    mine = chosen.get("task_team_leader") == request.user.pk
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "grants/grant_list.html",
        {
            "filterset": filterset,
            "form": form,
            "refused": refused,
            # The filters are shown open while some filter is applied (not for a sort).
            "filtering": refused or any(name in request.GET for name in filterset.filters),
            "page": page,
            "totals": None if refused or not page.paginator.count else listing.totals(found),
            "headers": listing.headers(request.GET, ordering),
            "ordering": ordering,
            "download_query": query.urlencode(),
            "mine": mine,
            "can_propose": can_create_grant(request.user)[0],
            "filter_fields": [form[name] for name in FILTER_LABELS],
        },
    )


def _grant_list_download(grants, kind):
    """The filtered list, every row, as CSV or XLSX, with its totals."""
    data = spreadsheets.for_people(
        {"rows": listing.export_rows(grants), "totals": listing.totals(grants)}
    )
    stamp = timezone.localdate().isoformat()
    if kind == "csv":
        content, media = spreadsheets.report_csv(data), "text/csv; charset=utf-8"
    else:
        content = spreadsheets.report_xlsx(data, title="grants")
        media = spreadsheets.XLSX_MEDIA_TYPE
    response = HttpResponse(content, content_type=media)
    response["Content-Disposition"] = f'attachment; filename="seetf-grants-{stamp}.{kind}"'
    return response


# --- The proposal form --------------------------------------------------------------------


def _all_errors_at_once(form, check) -> None:
    """A form some of whose fields were refused: the service's rules run on the fields
    that were taken (an end before its start, a country on both sides...), and their
    errors join the others, each beside its field, so nothing comes in a second round.
    (Recipients not chosen yet are left out, as the save leaves them out.)"""
    data = {
        name: value
        for name, value in form.cleaned_data.items()
        if not (name == "recipient_countries" and not value)
    }
    for name, found in services.errors_of(check, data).items():
        if name in form.fields and name not in form.errors:
            for message in found:
                form.add_error(name, message)


def _quiet(form) -> None:
    """A bound form shown again without judging it (the "add another row" button):
    what was typed stays, no error is shown yet."""
    form._errors = ErrorDict()
    form.cleaned_data = {}


def _add_row(data, formset_class, prefix, form, initial=None):
    """Without a script, "Add another exchange" sends the form: the page comes back with
    what was typed and one more empty row, nothing saved."""
    data = data.copy()
    total = f"{prefix}-TOTAL_FORMS"
    data[total] = str(min(int(data.get(total) or 0) + 1, formset_class.max_num))
    bound = form.__class__(data, initial=form.initial)
    _quiet(bound)
    rows = formset_class(data, initial=initial, prefix=prefix)
    rows._errors, rows._non_form_errors = [], rows.error_class()
    for row in rows.forms:
        _quiet(row)
    return bound, rows


class _Invalid(Exception):
    """Some form in the page was refused by a service: roll back and show it."""


def _save_planned_exchanges(grant: Grant, user, formset) -> None:
    """Create the new planned exchanges and update the changed ones, through the
    exchange services; a refused one gets its errors and the whole save rolls back."""
    existing = {exchange.pk: exchange for exchange in grant.exchanges.all()}
    failed = False
    for form in formset.forms:
        if not form.has_changed() or not form.cleaned_data:
            continue
        try:
            exchange_id = form.cleaned_data.get("id")
            if exchange_id:
                exchange = existing.get(exchange_id)
                if exchange is None:
                    form.add_error(None, _("This exchange is not one of this grant's."))
                    failed = True
                    continue
                if form.cleaned_data.get("remove"):
                    services.exchange_remove(exchange=exchange, user=user)
                    continue
                services.exchange_update(exchange=exchange, user=user, **form.service_fields())
            elif form.cleaned_data.get("remove"):
                continue  # a new row ticked away: nothing to save
            else:
                services.exchange_create(grant=grant, user=user, **form.service_fields())
        except ValidationError as error:
            apply_service_errors(form, error)
            failed = True
        except ApplicationError as error:
            if error.status == 403:
                raise
            form.add_error(None, error.message)
            failed = True
    if failed:
        raise _Invalid


def _proposal_page(request, form, exchanges, grant=None, returns=()):
    return render(
        request,
        "grants/proposal_form.html",
        {"form": form, "exchanges": exchanges, "grant": grant, "returns": returns},
    )


def _save_proposal(request, form, exchanges, grant=None):
    """Create or update the proposal and its planned exchanges, then submit it if the
    leader asked to; all in one transaction, so a refusal writes nothing."""
    submit = "submit" in request.POST
    try:
        with transaction.atomic():
            if grant is None:
                grant = services.grant_create(leader=request.user, **form.service_fields())
            else:
                grant = services.grant_update(
                    grant=grant, user=request.user, **form.service_fields()
                )
            _save_planned_exchanges(grant, request.user, exchanges)
            if submit:
                grant = services.grant_transition(grant=grant, user=request.user, action="submit")
    except ValidationError as error:
        apply_service_errors(form, error)
        return None
    except _Invalid:
        return None
    except ApplicationError as error:
        if error.status == 403:
            raise PermissionDenied(error.message) from error
        form.add_error(None, error.message)
        return None
    if submit:
        messages.success(request, workflow.get("submit").done % {"ref": _ref(grant)})
    else:
        messages.success(request, _("The draft was saved."))
    return redirect("grants:detail", pk=grant.pk)


@login_required
def proposal_create(request):
    allowed, reason = can_create_grant(request.user)
    if not allowed:
        raise PermissionDenied(reason)
    form = ProposalForm(request.POST or None)
    exchanges = PlannedExchangeFormSet(request.POST or None, prefix="exchanges")
    if "add_exchange" in request.POST:
        form, exchanges = _add_row(request.POST, PlannedExchangeFormSet, "exchanges", form)
        return _proposal_page(request, form, exchanges)
    if request.method == "POST":
        response = _checked_and_saved(request, form, exchanges)
        if response is not None:
            return response
    return _proposal_page(request, form, exchanges)


def _checked_and_saved(request, form, exchanges, grant=None):
    """Every error at once: the fields, the rows and the rules between fields; saved
    only when there is none."""
    valid = all([form.is_valid(), exchanges.is_valid()])
    if valid:
        return _save_proposal(request, form, exchanges, grant)
    if form.errors:
        _all_errors_at_once(form, services.proposal_rules)
    for row in exchanges.forms:
        if row.has_changed() and row.errors:
            _all_errors_at_once(row, services.exchange_rules)
    return None


@login_required
def proposal_edit(request, pk):
    grant = selectors.visible_grant_or_404(
        request.user,
        pk,
        Grant.objects.prefetch_related(
            "recipient_countries", "provider_countries", "facilitating_partners"
        ),
    )
    try:
        services.grant_update_check(grant=grant, user=request.user)
    except ApplicationError as error:
        return _refuse(request, error, grant)
    planned = [
        {
            "id": e.pk,
            "instrument": e.instrument,
            "title": e.title,
            "start_date": e.start_date,
            "end_date": e.end_date,
            "location": e.location,
            "participants": e.participants,
        }
        for e in grant.exchanges.all()
    ]
    data = request.POST if request.method == "POST" else None
    form = ProposalForm(data, initial=ProposalForm.initial_for(grant))
    exchanges = PlannedExchangeFormSet(data, initial=planned, prefix="exchanges")
    returns = grant.history.filter(action="return").select_related("actor").order_by("-at", "-id")
    if data is not None and "add_exchange" in data:
        form, exchanges = _add_row(data, PlannedExchangeFormSet, "exchanges", form, planned)
        return _proposal_page(request, form, exchanges, grant, list(returns))
    if data is not None:
        response = _checked_and_saved(request, form, exchanges, grant)
        if response is not None:
            return response
    return _proposal_page(request, form, exchanges, grant, list(returns))


# --- The grant page ------------------------------------------------------------------------


def _decision_forms(user, grant: Grant, bound: dict) -> tuple[list[dict], dict, str]:
    """What the grant page offers this user, from ``selectors.allowed_actions``: a
    form for each action they may take now that is taken from this page, described by
    the workflow table; the verdict for every action; and the reason of a refusal
    worth telling a decider (``self_approval``: a fund manager may not approve a grant
    they lead), when the grant is where that action would otherwise be taken."""
    verdicts = {row["action"]: row for row in selectors.allowed_actions(user, grant)}
    offered, notice = [], ""
    for name, verdict in verdicts.items():
        action = workflow.get(name)
        # A grant that does not fit its funding window: the decider (and the leader,
        # about submitting) is told which rule it breaks.
        worth_telling = verdict["code"] in (
            "self_approval",
            "window_ineligible",
            "incomplete_proposal",
        )
        if worth_telling and grant.status in action.sources:
            notice = verdict["reason"]
        if not verdict["allowed"] or action.form is None:
            continue
        initial = action.initial(grant) if action.initial else None
        offered.append(
            {
                "action": name,
                "place": action.place,
                "form": bound.get(name)
                or quick_selects(action.form(initial=initial, auto_id=_auto_id(name))),
                "heading": action.heading,
                "button": action.button_for(grant),
                "note": action.note_for(grant, selectors.fund_summary),
                "style": action.style,
            }
        )
    return offered, verdicts, notice


def _auto_id(action: str) -> str:
    """Each decision form's fields get their own ids: several forms on one page all have
    a comment, and a label must point at one field."""
    return f"id_{action.replace('-', '_')}_%s"


def _can(check, **kwargs) -> bool:
    try:
        check(**kwargs)
    except ApplicationError:
        return False
    return True


def _timeline(history: list, edits: list[dict], grant: Grant) -> tuple[list, list]:
    """The history rows and the proposal's edits in one list, in time order (an edit as
    a dict with ``edit``: True); and, once a returned proposal was submitted again, the
    edits made since the last return, each marked ``since_return`` (the page highlights
    them: what the deciders should read again)."""
    returns = [row.at for row in history if row.action == "return"]
    resubmitted = bool(returns) and any(
        row.action == "submit" and row.at > returns[-1] for row in history
    )
    since = []
    for edit in edits:
        edit["edit"] = True
        edit["since_return"] = resubmitted and edit["at"] > returns[-1]
        if edit["since_return"]:
            since.append(edit)
    rows = sorted([*history, *edits], key=lambda row: _at(row))
    return rows, since


def _at(row):
    return row["at"] if isinstance(row, dict) else row.at


def _of_grant(model, *related):
    """A statement of the rows of ``model`` of one grant (its Meta.ordering), with
    ``related`` joined, compiled once (seetf.common.prepared): read by ``_rows_of``."""
    return Prepared(
        lambda grant: model.objects.filter(grant_id=grant).select_related(*related),
        "grant",
        integers=("grant",),
    )


_HISTORY = _of_grant(GrantHistory, "actor")
_EXCHANGES = _of_grant(Exchange)
_DISBURSEMENTS = _of_grant(Disbursement, "recorded_by")


def _rows_of(statement, grant: Grant) -> list:
    """The grant's rows of ``statement`` (``_of_grant``), each knowing its grant (as the
    grant's related manager gives them: ``row.grant`` reads nothing)."""
    rows = statement.rows(grant=grant.pk)
    for row in rows:
        type(row).grant.field.set_cached_value(row, grant)
    return rows


def _countries_statement(model, relations: tuple[str, ...]) -> str:
    """The SQL of ``_prefetch_countries``: for each of ``relations`` (many-to-many fields
    of ``model``, Grant or one of its rows, to Country), the rows of one grant with
    their country's code and name and the relation's place in ``relations``; in
    Country's order. Written once (the ORM built and compiled a union per view)."""
    quote = connection.ops.quote_name
    owner = model._meta
    grant_column = None if model is Grant else owner.get_field("grant").column
    country = Country._meta
    parts = []
    for kind, name in enumerate(relations):
        field = owner.get_field(name)
        through = field.remote_field.through._meta
        source = quote(through.get_field(field.m2m_field_name()).column)
        target = quote(through.get_field(field.m2m_reverse_field_name()).column)
        # The grant's own rows name it; its exchanges' are found through them.
        rows_of_grant = (
            f"WHERE t.{source} = %s"
            if model is Grant
            else f"JOIN {quote(owner.db_table)} o ON o.{quote(owner.pk.column)} = t.{source} "
            f"WHERE o.{quote(grant_column)} = %s"
        )
        parts.append(
            f"SELECT t.{source}, {kind}, c.{quote('code')}, c.{quote('name')} "
            f"FROM {quote(through.db_table)} t "
            f"JOIN {quote(country.db_table)} c ON c.{quote('code')} = t.{target} "
            f"{rows_of_grant}"
        )
    return " UNION ALL ".join(parts) + " ORDER BY 4"


_COUNTRY_STATEMENTS: dict = {}


def _prefetch_countries(grant: Grant, objects: list, *relations: str) -> None:
    """The countries of each of ``relations`` (many-to-many fields to Country) of every
    one of ``objects`` (the grant itself, or its rows of one model), read in one
    statement and left as ``prefetch_related_objects`` leaves them: ``obj.<relation>
    .all()`` reads nothing and gives Countries with their code and name only (one query
    where a prefetch per relation took one each)."""
    if not objects:
        return
    model = type(objects[0])
    key = (connection.vendor, model, relations)
    sql = _COUNTRY_STATEMENTS.get(key)
    if sql is None:
        sql = _COUNTRY_STATEMENTS[key] = _countries_statement(model, relations)
    found = {(obj.pk, kind): [] for obj in objects for kind in range(len(relations))}
    with connection.cursor() as cursor:
        cursor.execute(sql, [grant.pk] * len(relations))
        rows = cursor.fetchall()
    alias = objects[0]._state.db or "default"
    for pk, kind, code, name in rows:
        if (pk, kind) in found:
            found[pk, kind].append(Country.from_db(alias, ["code", "name"], (code, name)))
    for obj in objects:
        cache = obj.__dict__.setdefault("_prefetched_objects_cache", {})
        for kind, name in enumerate(relations):
            countries = getattr(obj, name).get_queryset()
            countries._result_cache = found[obj.pk, kind]
            countries._prefetch_done = True
            cache[name] = countries


def grant_page(request, grant: Grant, *, bound: dict | None = None):
    """The grant page; ``bound`` holds a submitted form to show again with its errors."""
    user = request.user
    bound = bound or {}
    history = _rows_of(_HISTORY, grant)
    for row in history:
        row.label = workflow.history_label(row.action)
        row.amount = grant.approved_usd if row.action == "approve" else None
    timeline, changed_since_return = _timeline(history, selectors.grant_edits(grant), grant)
    exchanges = _rows_of(_EXCHANGES, grant)
    _prefetch_countries(grant, exchanges, "provider_countries", "recipient_countries")
    # The report (results) through the grant's reverse one-to-one: grants never
    # imports results. The workflow's guards read the same cached object.
    report = getattr(grant, "completion_report", None)
    offered, verdicts, self_approval = _decision_forms(user, grant, bound)
    sees_disbursements = can_disburse(user, grant)[0]
    can_disburse_now = sees_disbursements and _can(
        services.disbursement_check, grant=grant, user=user
    )
    returns = [row for row in history if row.action == "return"]
    report_visible = can_see_report(user, report, grant)
    context = {
        "grant": grant,
        "history": timeline,
        "changed_since_return": changed_since_return,
        "exchanges": exchanges,
        "report": report,
        "leader_actions": [o for o in offered if o["place"] == "leader"],
        "decisions": [o for o in offered if o["place"] == "decisions"],
        "can_accept_report": verdicts["accept-report"]["allowed"],
        "report_link": report_visible
        and grant.status in APPROVED_AND_LATER
        and (report is not None or is_leader_of(user, grant)),
        "targeted_outcomes": [
            OUTCOME_LABELS.get(code, code) for code in grant.targeted_outcomes or []
        ],
        "self_approval": self_approval,
        "can_edit": _can(services.grant_update_check, grant=grant, user=user),
        "can_record_exchange": _can(services.exchange_check, grant=grant, user=user),
        "disbursements": mark_reversals(
            _rows_of(_DISBURSEMENTS, grant),
            can_reverse=can_disburse_now,
            url_for=lambda d: reverse("grants:disbursement-reverse", args=[grant.pk, d.pk]),
            bound=bound.get("reverse"),
        )
        if sees_disbursements
        else None,
        "disbursement_form": bound.get("disburse")
        or (
            DisbursementForm(initial={"disbursed_on": timezone.localdate()})
            if can_disburse_now
            else None
        ),
        "last_return": returns[-1] if returns else None,
        # The decisions panel: fund managers, and the approvers of the grant's window.
        "is_manager": is_fund_manager(user) or delegated_limit(user, grant) is not None,
        "delegated_limit": approval_limit(user, grant),
    }
    return render(request, "grants/grant_detail.html", context)


def _page_grant(shape, *, pk, user):
    """The grant ``pk`` with what its page joins (its report too: the reverse one-to-one,
    None when there is none) if the user of id ``user`` and this ``shape`` may see it
    (``selectors.visible_grant_or_404``'s rule)."""
    visible = selectors.grants_visible_to_shape(shape, user)
    grants = Grant.objects.select_related(
        "sector", "task_team_leader", "window", "completion_report"
    ).filter(pk__in=visible.values("pk"), pk=pk)
    return grants.order_by()[:2]


# Compiled once per shape of user (seetf.common.prepared), as the API's detail is.
_PAGE_GRANT = Prepared.keyed(_page_grant, "pk", "user", integers=("pk", "user"))


def _grant_for_page(request, pk) -> Grant:
    user = request.user
    found = []
    if int(pk) <= selectors.LARGEST_GRANT_KEY:
        found = _PAGE_GRANT.rows(selectors.user_shape(user), pk=int(pk), user=user.pk)
    if len(found) != 1:
        raise Http404(_("No Grant matches the given query."))
    grant = found[0]
    _prefetch_countries(grant, [grant], "recipient_countries", "provider_countries")
    prefetch_related_objects(
        [grant],
        "facilitating_partners",
        Prefetch(
            "partner_roles",
            queryset=GrantPartnerRole.objects.select_related("partner").order_by(
                "role", "partner__name"
            ),
        ),
    )
    # What the workflow's guards read (not_endorsed, proposal_complete), from the
    # prefetched rows (no query).
    grant._has_recipients = bool(grant.recipient_countries.all())
    grant._partner_facts = (
        [(role.role, role.partner.kind) for role in grant.partner_roles.all()],
        bool(grant.provider_countries.all()),
    )
    return grant


@login_required
def grant_detail(request, pk):
    return grant_page(request, _grant_for_page(request, pk))


@login_required
@require_POST
@once_per_form
def grant_action(request, pk, action):
    """One workflow action from the grant page: role and status are checked first (a
    403 page, or the reason on the grant page), then the form, then the service."""
    step = workflow.get(action)
    if step is None or step.form is None:
        raise Http404
    grant = _grant_for_page(request, pk)
    try:
        services.grant_transition_check(grant=grant, user=request.user, action=action)
    except ApplicationError as error:
        return _refuse(request, error, grant)
    except ValidationError as error:
        # A grant that does not fit its funding window (a guard's 400 on ``window``).
        for message in error.messages:
            messages.error(request, message)
        return redirect("grants:detail", pk=grant.pk)
    form = step.form(request.POST, auto_id=_auto_id(action))
    if form.is_valid():
        with service_errors_on(form):
            inputs = (
                form.transition_inputs()
                if hasattr(form, "transition_inputs")
                else form.cleaned_data
            )
            grant = services.grant_transition(
                grant=grant, user=request.user, action=action, **inputs
            )
        if not form.errors:
            messages.success(request, step.done % {"ref": _ref(grant)})
            return redirect("grants:detail", pk=grant.pk)
    grant = _grant_for_page(request, pk)
    return grant_page(request, grant, bound={action: form})


@login_required
@require_POST
@once_per_form
def disbursement_create(request, pk):
    grant = _grant_for_page(request, pk)
    try:
        services.disbursement_check(grant=grant, user=request.user)
    except ApplicationError as error:
        return _refuse(request, error, grant)
    form = DisbursementForm(request.POST)
    if form.is_valid():
        with service_errors_on(form):
            disbursement = services.disbursement_record(
                grant=grant, user=request.user, **form.cleaned_data
            )
        if not form.errors:
            messages.success(
                request,
                _("%(amount)s USD disbursed from %(ref)s.")
                % {"amount": f"{disbursement.amount_usd:,.2f}", "ref": _ref(grant)},
            )
            return redirect(reverse("grants:detail", args=[grant.pk]) + "#disbursements")
    grant = _grant_for_page(request, pk)
    return grant_page(request, grant, bound={"disburse": form})


@login_required
@require_POST
@once_per_form
def disbursement_reverse(request, pk, disbursement_pk):
    """Correct a disbursement by a reversing entry (its commitment stays)."""
    grant = _grant_for_page(request, pk)
    try:
        services.disbursement_check(grant=grant, user=request.user)
    except ApplicationError as error:
        return _refuse(request, error, grant)
    disbursement = get_object_or_404(grant.disbursements, pk=disbursement_pk)
    form = ReversalForm(request.POST, auto_id=f"id_reverse_{disbursement.pk}_%s")
    if form.is_valid():
        with service_errors_on(form):
            services.disbursement_reverse(
                disbursement=disbursement, user=request.user, reason=form.cleaned_data["reason"]
            )
        if not form.errors:
            messages.success(
                request,
                _("The disbursement of %(amount)s USD from %(ref)s was reversed.")
                % {"amount": f"{disbursement.amount_usd:,.2f}", "ref": _ref(grant)},
            )
            return redirect(reverse("grants:detail", args=[grant.pk]) + "#disbursements")
    grant = _grant_for_page(request, pk)
    return grant_page(request, grant, bound={"reverse": (disbursement.pk, form)})


# --- Exchanges ---------------------------------------------------------------------------


@login_required
def exchange_form(request, pk, exchange_pk=None):
    """Record a new exchange or change one (the leader, and fund managers once the
    grant is approved)."""
    grant = selectors.visible_grant_or_404(request.user, pk)
    exchange = None
    if exchange_pk is not None:
        exchange = get_object_or_404(
            Exchange.objects.prefetch_related("provider_countries", "recipient_countries"),
            grant=grant,
            pk=exchange_pk,
        )
    try:
        services.exchange_check(grant=grant, user=request.user)
    except ApplicationError as error:
        return _refuse(request, error, grant)
    initial = (
        ExchangeForm.initial_for(exchange) if exchange else ExchangeForm.initial_from_grant(grant)
    )
    form = ExchangeForm(request.POST or None, initial=initial)
    if request.method == "POST" and not form.is_valid():
        _all_errors_at_once(form, services.exchange_rules)
    if request.method == "POST" and form.is_valid():
        with service_errors_on(form):
            if exchange is None:
                services.exchange_create(grant=grant, user=request.user, **form.service_fields())
            else:
                services.exchange_update(
                    exchange=exchange, user=request.user, **form.service_fields()
                )
        if not form.errors:
            messages.success(request, _("The exchange was saved."))
            return redirect(reverse("grants:detail", args=[grant.pk]) + "#exchanges")
    return render(
        request,
        "grants/exchange_form.html",
        {"grant": grant, "exchange": exchange, "form": form},
    )
