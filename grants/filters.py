import django_filters
from django.db.models import Exists, OuterRef, Q

from partners.models import Country, Partner, Region, Sector

from .models import Grant, GrantStatus


class GrantFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=GrantStatus.choices, help_text="Repeat for several statuses."
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
    min_usd = django_filters.NumberFilter(field_name="requested_usd", lookup_expr="gte")
    max_usd = django_filters.NumberFilter(field_name="requested_usd", lookup_expr="lte")
    search = django_filters.CharFilter(
        method="filter_search", max_length=200, help_text="Words in the title or summary."
    )

    class Meta:
        model = Grant
        fields = [
            "status",
            "sector",
            "region",
            "recipient_country",
            "provider_country",
            "facilitating_partner",
            "triangular",
            "task_team_leader",
            "min_usd",
            "max_usd",
            "search",
        ]

    def filter_search(self, queryset, name, value):
        for word in value.split():
            queryset = queryset.filter(Q(title__icontains=word) | Q(summary__icontains=word))
        return queryset

    def filter_triangular(self, queryset, name, value):
        has_partner = Grant.facilitating_partners.through.objects.filter(grant_id=OuterRef("pk"))
        return (
            queryset.filter(Exists(has_partner)) if value else queryset.exclude(Exists(has_partner))
        )
