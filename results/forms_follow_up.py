"""The web forms of what happens after the exchange: follow-up needs (rows of the
completion report's form), what became of a need, proposing a follow-on, an ex-post
check. Forms parse what was typed; the rules are in ``results.services``."""

from django import forms
from django.utils.translation import gettext_lazy as _

from grants.models import GrantRelation
from seetf.common.forms import MoneyInput, WebForm
from seetf.common.money import MONEY

from .forms import ConcreteResultFormSet
from .models import MAX_NEED_USD, FollowUpKind


def _usd(label, **kwargs):
    return forms.DecimalField(
        label=label, **MONEY, min_value=0, max_value=MAX_NEED_USD, widget=MoneyInput(), **kwargs
    )


class FollowUpNeedForm(WebForm):
    required_css_class = ""  # a row may stay empty
    kind = forms.ChoiceField(
        label=_("Kind of follow-up"), choices=[("", "---------"), *FollowUpKind.choices]
    )
    description = forms.CharField(
        label=_("What is needed"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    estimated_usd = _usd(_("Estimated cost (USD)"), required=False)


class _FollowUpNeedFormSet(ConcreteResultFormSet):
    """Rows as the concrete results' (the extra rows may stay empty)."""

    def needs(self) -> list[dict]:
        """The rows filled in and not marked for removal."""
        return [
            {name: form.cleaned_data[name] for name in ("kind", "description", "estimated_usd")}
            for form in self.forms
            if form.has_changed() and form.cleaned_data and not self._should_delete_form(form)
        ]


# Two empty rows to add needs; each written row has a "Remove" box.
FollowUpNeedFormSet = forms.formset_factory(
    FollowUpNeedForm, formset=_FollowUpNeedFormSet, extra=2, max_num=20, can_delete=True
)


class FinanceElsewhereForm(WebForm):
    financed_elsewhere_by = forms.CharField(label=_("Financed by"), max_length=200)
    financed_elsewhere_usd = _usd(_("Amount (USD)"))


class DropNeedForm(WebForm):
    reason = forms.CharField(
        label=_("Why is it dropped?"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ProposeFollowOnForm(WebForm):
    relation = forms.ChoiceField(
        label=_("Relation"), choices=GrantRelation.choices, initial=GrantRelation.FOLLOW_ON
    )


class ExPostCheckForm(WebForm):
    """The short form: what lasted (API.md's five booleans), the evidence, notes."""

    action_plan_adopted = forms.BooleanField(label=_("The action plan was adopted"), required=False)
    pilot_funded = forms.BooleanField(label=_("The pilot was funded"), required=False)
    reform_enacted = forms.BooleanField(label=_("The reform was enacted"), required=False)
    investment_made = forms.BooleanField(label=_("An investment was made"), required=False)
    follow_up_financed = forms.BooleanField(label=_("The follow-up was financed"), required=False)
    evidence = forms.CharField(
        label=_("Evidence"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("A decree, a budget line, a loan number, a link..."),
    )
    notes = forms.CharField(
        label=_("Notes"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
