import django_filters
from django.apps import apps
from django.db.models import Q

from audit.models import AuditEntry
from seetf.common.filters import MomentFilter

from .models import Contribution, Country, Partner, PartnerKind, Region, Sector


class CountryFilter(django_filters.FilterSet):
    region = django_filters.ChoiceFilter(choices=Region.choices)

    class Meta:
        model = Country
        fields = ["region", "income_group"]


class SectorFilter(django_filters.FilterSet):
    category = django_filters.CharFilter(lookup_expr="iexact", max_length=200)

    class Meta:
        model = Sector
        fields = ["category"]


class PartnerFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=PartnerKind.choices)
    country = django_filters.ModelChoiceFilter(queryset=Country.objects.all())

    class Meta:
        model = Partner
        fields = ["kind", "country"]


class ContributionFilter(django_filters.FilterSet):
    partner = django_filters.ModelChoiceFilter(queryset=Partner.objects.all())
    currency = django_filters.CharFilter(method="filter_currency", max_length=3)

    class Meta:
        model = Contribution
        fields = ["partner", "currency"]

    def filter_currency(self, queryset, name, value):
        return queryset.filter(currency=value.upper())


class ContributionReportFilter(django_filters.FilterSet):
    """Which partners the contributions report covers."""

    kind = django_filters.ChoiceFilter(choices=PartnerKind.choices)
    partner = django_filters.ModelMultipleChoiceFilter(
        queryset=Partner.objects.all(), method="filter_partner"
    )

    class Meta:
        model = Partner
        fields = ["kind", "partner"]

    def filter_partner(self, queryset, name, value):
        # The queryset is of partners themselves: `id=<Partner>` would not do (a 500).
        # No ?partner= at all cleans to an empty queryset, which means every partner.
        if not value:
            return queryset
        return queryset.filter(pk__in=[partner.pk for partner in value])


# The models an audit entry may name, as ``app_label.model`` (``grants.grant``).
AUDITED_APPS = ("auth", "partners", "grants", "results")


def audited_models() -> list[tuple[str, str]]:
    return sorted(
        (f"{m._meta.app_label}.{m._meta.model_name}", f"{m._meta.app_label}.{m._meta.model_name}")
        for label in AUDITED_APPS
        for m in apps.get_app_config(label).get_models()
        if not m._meta.auto_created
    )


class AuditEntryFilter(django_filters.FilterSet):
    """The audit log's filters, for the API and the page alike."""

    action = django_filters.CharFilter(
        method="filter_action",
        max_length=64,
        help_text="An action (`grant.approve`), or every action of an object type with a "
        "trailing dot (`grant.`).",
    )
    model = django_filters.ChoiceFilter(
        choices=audited_models,
        method="filter_model",
        help_text="The object's type, as `app_label.model` (`grants.grant`).",
    )
    object_id = django_filters.CharFilter(max_length=64, help_text="The object's id.")
    actor = django_filters.CharFilter(
        field_name="actor_name", max_length=150, help_text="The actor's username (or `system`)."
    )
    since = MomentFilter(
        field_name="at",
        lookup_expr="gte",
        help_text="At or after (ISO 8601: a date, or a time with its zone).",
    )
    until = MomentFilter(
        field_name="at",
        lookup_expr="lte",
        help_text="At or before (ISO 8601: a date means its midnight).",
    )

    class Meta:
        model = AuditEntry
        fields = ["action", "model", "object_id", "actor", "since", "until"]

    def filter_action(self, queryset, name, value):
        if value.endswith("."):
            return queryset.filter(action__startswith=value)
        return queryset.filter(action=value)

    def filter_model(self, queryset, name, value: str):
        app_label, _, model = value.partition(".")
        return queryset.filter(Q(content_type__app_label=app_label, content_type__model=model))
