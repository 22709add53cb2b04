"""The web forms of brokering: they parse what was typed; the rules stay in the
services (their ValidationErrors go next to the fields)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from grants.models import Instrument
from partners.models import Country, Sector
from seetf.common.forms import DateInput, WebForm


class CountryChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.code})"


class SectorsField(forms.ModelMultipleChoiceField):
    widget = forms.SelectMultiple(attrs={"size": 8})

    def label_from_instance(self, obj):
        return f"{obj.code} {obj.name}"


class LanguagesField(forms.CharField):
    """ISO 639-1 codes separated by commas or spaces ("es, pt")."""

    def to_python(self, value):
        text = super().to_python(value) or ""
        return [code.strip().lower() for code in text.replace(",", " ").split() if code.strip()]

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(value)
        return value


def _sectors():
    return SectorsField(
        label=_("Sectors"),
        queryset=Sector.objects.order_by("code"),
        help_text=_("OECD DAC purpose codes. Hold Ctrl (or Cmd) to choose several."),
    )


def _instruments(label):
    return forms.MultipleChoiceField(
        label=label, choices=Instrument.choices, widget=forms.CheckboxSelectMultiple
    )


def _languages():
    return LanguagesField(
        label=_("Languages"),
        max_length=100,
        help_text=_("ISO 639-1 codes, separated by commas: en, fr, es, pt..."),
    )


class OfferForm(WebForm):
    title = forms.CharField(label=_("Title"), max_length=200)
    provider_country = CountryChoice(
        label=_("Provider country"), queryset=Country.objects.order_by("name")
    )
    institution = forms.CharField(label=_("Institution"), max_length=200)
    description = forms.CharField(
        label=_("What worked, and what it can share"),
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Plain text or Markdown (no HTML)."),
    )
    sectors = _sectors()
    instruments = _instruments(_("Instruments it can host"))
    languages = _languages()
    capacity_per_year = forms.IntegerField(label=_("Exchanges a year"), min_value=1, max_value=1000)
    contact_name = forms.CharField(label=_("Contact name"), max_length=200)
    contact_email = forms.EmailField(label=_("Contact e-mail"))


class RequestForm(WebForm):
    title = forms.CharField(label=_("Title"), max_length=200)
    recipient_country = CountryChoice(
        label=_("Recipient country"), queryset=Country.objects.order_by("name")
    )
    description = forms.CharField(
        label=_("The knowledge gap"),
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What the country wants to learn, plain text or Markdown (no HTML)."),
    )
    sectors = _sectors()
    instruments = _instruments(_("Instruments wanted"))
    languages = _languages()
    needed_by = forms.DateField(label=_("Needed by"), widget=DateInput())
    endorsed_on = forms.DateField(
        label=_("Endorsed by the government on"), required=False, widget=DateInput()
    )
