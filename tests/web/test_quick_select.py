"""``seetf.common.forms.QuickSelect`` writes the markup of Django's ``Select`` byte for
byte: the value chosen, an empty choice, escaping, attributes, model choices."""

import pytest
from django import forms

from partners.models import Country
from seetf.common.forms import QuickSelect, quick_selects


class _Form(forms.Form):
    plain = forms.ChoiceField(
        choices=[("", "---------"), ("a&b", "A & B <x>"), ("c", "Côte d'Ivoire"), (3, "three")],
        required=False,
        help_text="Pick one.",
    )
    required = forms.ChoiceField(choices=[("", "Choose"), ("x", "X")])
    country = forms.ModelChoiceField(queryset=Country.objects.order_by("name"), required=False)
    grouped = forms.ChoiceField(choices=[("Group", [("g", "G")]), ("h", "H")], required=False)
    several = forms.MultipleChoiceField(choices=[("m", "M"), ("n", "N")], required=False)


def _widgets(form):
    return {name: form[name].as_widget() for name in form.fields}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        None,
        {"plain": "a&b", "required": "x", "country": "BRA", "several": ["n"]},
        {"plain": "3", "country": "nowhere", "grouped": "g"},
    ],
)
def test_quick_selects_write_what_django_writes(data):
    expected = _widgets(_Form(data))
    form = quick_selects(_Form(data))
    assert isinstance(form.fields["plain"].widget, QuickSelect)
    assert isinstance(form.fields["country"].widget, QuickSelect)
    assert not isinstance(form.fields["several"].widget, QuickSelect)
    assert _widgets(form) == expected
    assert str(form) == str(_Form(data))
    if data and data.get("country") == "BRA":
        assert '<option value="BRA" selected>' in expected["country"]


@pytest.mark.django_db
def test_a_model_choice_is_read_in_one_query(django_assert_num_queries):
    form = quick_selects(_Form())
    with django_assert_num_queries(1):
        form["country"].as_widget()
