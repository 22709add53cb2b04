"""The web forms of results: the completion report and the donor dashboard's partner.
Forms parse what was typed; the rules are in ``results.services``."""

from django import forms
from django.utils.translation import gettext_lazy as _

from grants.models import CapacityOutcome
from partners.models import Partner
from seetf.common.forms import WebForm

from .models import ConcreteResultKind, Rating

PARTICIPANTS_MAX = 100000


class CompletionReportForm(WebForm):
    outcomes_achieved = forms.MultipleChoiceField(
        label=_("Capacity outcomes achieved"),
        choices=CapacityOutcome.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    participants = forms.IntegerField(
        label=_("Participants"), min_value=0, max_value=PARTICIPANTS_MAX, initial=0
    )
    rating = forms.ChoiceField(
        label=_("Rating of the results"),
        choices=[("", "---------"), *Rating.choices],
        required=False,
        help_text=_("Needed to submit the report."),
    )
    lessons = forms.CharField(
        label=_("Lessons learned"),
        max_length=20000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    follow_up_needed = forms.BooleanField(label=_("Follow-up is needed"), required=False)
    follow_up_description = forms.CharField(
        label=_("What follow-up is needed"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    @classmethod
    def initial_for(cls, report, grant=None) -> dict:
        """A report's values; a new report starts from the participants of the grant's
        held exchanges. (The outcomes it targeted are shown beside the form, never ticked
        for the leader: what was achieved is theirs to say.)"""
        if report is None:
            if grant is None:
                return {}
            held = grant.exchanges.filter(status="held")
            return {"participants": sum(held.values_list("participants", flat=True))}
        return {
            "outcomes_achieved": report.outcomes_achieved,
            "participants": report.participants,
            "rating": report.rating,
            "lessons": report.lessons,
            "follow_up_needed": report.follow_up_needed,
            "follow_up_description": report.follow_up_description,
        }


class ReportReturnForm(WebForm):
    """A fund manager sends a submitted report back: what to revise (required)."""

    comment = forms.CharField(
        label=_("What to revise"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "The leader reads it, revises the report and submits it again; meanwhile the "
            "grant is approved again."
        ),
    )


class ConcreteResultForm(WebForm):
    required_css_class = ""  # a row may stay empty
    kind = forms.ChoiceField(
        label=_("Kind of result"), choices=[("", "---------"), *ConcreteResultKind.choices]
    )
    description = forms.CharField(
        label=_("Description"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class _ConcreteResultFormSet(forms.BaseFormSet):
    def get_form_kwargs(self, index):
        kwargs = super().get_form_kwargs(index)
        kwargs["use_required_attribute"] = False  # the extra rows may stay empty
        return kwargs

    def results(self) -> list[dict]:
        return [
            {"kind": form.cleaned_data["kind"], "description": form.cleaned_data["description"]}
            for form in self.forms
            if form.has_changed() and form.cleaned_data and not self._should_delete_form(form)
        ]


ConcreteResultFormSet = forms.formset_factory(
    ConcreteResultForm, formset=_ConcreteResultFormSet, extra=2, max_num=50, can_delete=True
)


class DashboardPartnerForm(WebForm):
    """A fund manager chooses whose dashboard to see."""

    partner = forms.ModelChoiceField(label=_("Partner"), queryset=Partner.objects.order_by("name"))
