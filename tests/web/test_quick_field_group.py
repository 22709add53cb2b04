"""``seetf.common.forms.quick_field_group`` (``{{ field|field_group }}``, the pages'
``includes/field.html``) writes what Django's ``as_field_group`` writes, byte for byte:
labels with and without a suffix, required marks, help texts, fields without ids, and
Django's own rendering where it differs (fieldsets, errors)."""

import pytest
from django import forms

from brokering.forms import OfferForm, RequestForm
from collaboration.forms import CommentForm as DiscussionForm
from documents.forms import DocumentForm
from grants import workflow
from grants.forms import DisbursementForm, ExchangeForm, ProposalForm
from partners.forms import ContributionForm, PartnerForm, ReversalForm, WindowForm
from results.forms import CompletionReportForm
from seetf.common.forms import WebForm, quick_field_group

pytestmark = pytest.mark.django_db


class _Plain(forms.Form):
    """Django's defaults: a ":" suffix, no required class."""

    name = forms.CharField(help_text="A <b>bold</b> help.")
    asked = forms.CharField(label="Asked?", required=False)
    unlabelled = forms.CharField(label="", required=False)
    escaped = forms.CharField(label="A & B <c>", required=False)
    chosen = forms.ChoiceField(choices=[("a", "A"), ("b", "B")])
    ticked = forms.BooleanField(required=False, help_text="Tick it.")
    radios = forms.ChoiceField(choices=[("a", "A")], widget=forms.RadioSelect)
    boxes = forms.MultipleChoiceField(
        choices=[("a", "A")], widget=forms.CheckboxSelectMultiple, required=False
    )
    own_id = forms.CharField(widget=forms.TextInput(attrs={"id": "mine"}), required=False)
    secret = forms.CharField(widget=forms.HiddenInput, required=False)


class _Web(WebForm):
    title = forms.CharField(max_length=200)
    amount = forms.DecimalField(required=False, label_suffix=" →")


def _forms():
    steps = [step for step in workflow.WORKFLOW.values() if step.form is not None]
    yield from (step.form(auto_id=f"id_{step.name}_%s") for step in steps)
    yield from (
        _Plain(),
        _Plain(auto_id=False),
        _Plain(auto_id="x_%s", label_suffix=""),
        _Plain({"name": "", "chosen": "z"}),  # errors: Django's rendering
        _Web(),
        _Web({"title": "t" * 201}),
        DisbursementForm(),
        DisbursementForm({"amount_usd": "-1"}),
        ExchangeForm(),
        ProposalForm(),
        DocumentForm(),
        DiscussionForm(auto_id="id_comment_%s"),
        ReversalForm(auto_id="id_reverse_7_%s"),
        OfferForm(),
        RequestForm(),
        PartnerForm(),
        ContributionForm(),
        WindowForm(),
        CompletionReportForm(),
    )


def test_a_field_group_is_what_django_writes():
    seen = 0
    for form in _forms():
        for field in form:
            assert quick_field_group(field) == field.as_field_group(), (form, field.name)
            seen += 1
    assert seen > 100
