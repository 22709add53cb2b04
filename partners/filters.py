import django_filters

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
