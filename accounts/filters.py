import django_filters

from seetf.common.filters import IsoMomentFilter

from .models import LoginMethod, LoginOutcome, LoginRecord


class LoginRecordFilter(django_filters.FilterSet):
    username = django_filters.CharFilter(lookup_expr="iexact", max_length=150)
    outcome = django_filters.ChoiceFilter(choices=LoginOutcome.choices)
    method = django_filters.ChoiceFilter(choices=LoginMethod.choices)
    since = IsoMomentFilter(field_name="at", lookup_expr="gte")

    class Meta:
        model = LoginRecord
        fields = ["username", "outcome", "method", "since"]
