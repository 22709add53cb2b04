import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend

from partners.models import Country, Partner, Region, Sector
from seetf.common.filters import IdLastOrderingFilter

from .models import Grant, GrantStatus

# The columns a grant list may be ordered by (the API's ``ordering`` and the list page's
# sortable headers): one list, so that a page's sort is one the API answers too.
GRANT_ORDERING_FIELDS = [
    "created_at",
    "submitted_at",
    "decided_at",
    "requested_usd",
    "approved_usd",
    "disbursed_usd",
    "planned_start",
    "planned_end",
    "reference",
    "title",
    "status",
]


class GrantFilterForm(forms.Form):
    """The filters' form, with the one rule between two fields: a lower bound above the
    upper one is refused (the API answers 400, the page says so), not read as a filter
    that matches nothing."""

    def clean(self):
        cleaned = super().clean()
        low, high = cleaned.get("min_usd"), cleaned.get("max_usd")
        if low is not None and high is not None and low > high:
            self.add_error(
                "max_usd",
                _("The largest amount must not be below the smallest (%(low)s).") % {"low": low},
            )
        return cleaned


class GrantFilter(django_filters.FilterSet):
    # A column of the grant itself: no join, so no duplicates, so no DISTINCT (which
    # made the database de-duplicate every matching grant before counting or paging).
    status = django_filters.MultipleChoiceFilter(
        choices=GrantStatus.choices, help_text="Repeat for several statuses.", distinct=False
    )
    sector = django_filters.ModelChoiceFilter(queryset=Sector.objects.all())
    region = django_filters.ChoiceFilter(choices=Region.choices)
    recipient_country = django_filters.ModelChoiceFilter(
        field_name="recipient_countries",
        queryset=Country.objects.all(),
        distinct=False,
        help_text="ISO 3166-1 alpha-3 code.",
    )
    provider_country = django_filters.ModelChoiceFilter(
        field_name="provider_countries",
        queryset=Country.objects.all(),
        distinct=False,
        help_text="ISO 3166-1 alpha-3 code.",
    )
    facilitating_partner = django_filters.ModelChoiceFilter(
        field_name="facilitating_partners",
        queryset=Partner.objects.all(),
        distinct=False,
        help_text="A partner id: triangular exchanges it facilitates.",
    )
    triangular = django_filters.BooleanFilter(
        method="filter_triangular",
        help_text="Grants with (true) or without (false) facilitating partners.",
    )
    task_team_leader = django_filters.NumberFilter(field_name="task_team_leader_id")
    window = django_filters.NumberFilter(
        field_name="window_id", help_text="A funding window's id: the grants it finances."
    )
    min_usd = django_filters.NumberFilter(field_name="requested_usd", lookup_expr="gte")
    max_usd = django_filters.NumberFilter(field_name="requested_usd", lookup_expr="lte")
    search = django_filters.CharFilter(
        method="filter_search",
        max_length=200,
        help_text="Words in the title, the summary, the reference or the task team leader's "
        "name (user name, first or last name); every word must be found.",
    )

    class Meta:
        model = Grant
        form = GrantFilterForm
        fields = [
            "status",
            "sector",
            "region",
            "recipient_country",
            "provider_country",
            "facilitating_partner",
            "triangular",
            "task_team_leader",
            "window",
            "min_usd",
            "max_usd",
            "search",
        ]

    def get_form_class(self):
        """The form class, built once per FilterSet class rather than on every request:
        its fields depend on nothing but the declarations (their querysets are fixed),
        and each form instance deep-copies them as Django forms do."""
        cls = type(self)
        form_class = cls.__dict__.get("_form_class")
        if form_class is None:
            form_class = super().get_form_class()
            cls._form_class = form_class
        return form_class

    def filter_search(self, queryset, name, value):
        """Each word in the title, the summary, the reference or the leader's name: a
        fund manager looks a grant up by its number or by who leads it. The leader is a
        foreign key (one row per grant): no duplicates, no DISTINCT."""
        leader = "task_team_leader__"
        username = leader + get_user_model().USERNAME_FIELD
        for word in value.split():
            queryset = queryset.filter(
                Q(title__icontains=word)
                | Q(summary__icontains=word)
                | Q(reference__icontains=word)
                | Q(**{f"{username}__icontains": word})
                | Q(**{f"{leader}first_name__icontains": word})
                | Q(**{f"{leader}last_name__icontains": word})
            )
        return queryset

    def filter_triangular(self, queryset, name, value):
        has_partner = Grant.facilitating_partners.through.objects.filter(grant_id=OuterRef("pk"))
        return (
            queryset.filter(Exists(has_partner)) if value else queryset.exclude(Exists(has_partner))
        )


class GrantOrderingFilter(IdLastOrderingFilter):
    """DRF's ``?ordering=``, with the grant's id as the last key: grants that tie on the
    chosen field (many requests are for the same round amount) keep one order from page
    to page, and the keyset cursors of the list have a unique position to start from."""


def filters_given(filterset_class, params) -> set[str]:
    """The names of ``filterset_class``'s filters that the query ``params`` give (a
    filter given an empty value is given: the FilterSet decides what it means)."""
    return {name for name in filterset_class.base_filters if name in params}


def status_scope(user, params) -> frozenset[str] | None:
    """The statuses at which ``user``'s grants filtered by the query ``params`` are
    exactly the grants at these statuses: when no filter of GrantFilter but ``status``
    is given (checked by the FilterSet first) and what the user sees depends on the
    status alone (``selectors.statuses_seen``). None otherwise. What the database keeps
    by status then answers for the grants (their count, the exchange flows)."""
    from .selectors import statuses_seen

    if filters_given(GrantFilter, params) - {"status"}:
        return None
    return statuses_seen(user, params.getlist("status") or None)


class GrantFilterBackend(DjangoFilterBackend):
    """django-filter's backend, which skips building the FilterSet (a deep copy of every
    filter, a form, its validation) when the request names none of its filters: with
    no filter given, a FilterSet filters nothing and refuses nothing, so the answer is
    the same, and the unfiltered list, the most asked for, is spared the cost."""

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None and not filters_given(filterset_class, request.query_params):
            return queryset
        return super().filter_queryset(request, queryset, view)
