"""The web forms of partners and money in, and the widgets and error handling every
app's web forms share. Forms parse what was typed; the rules (a receipt within the
pledge, a known currency, a unique reference...) are the services'."""

from contextlib import contextmanager

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _

from partners.models import MAX_AMOUNT, Country, Partner, PartnerKind
from seetf.common.errors import ApplicationError
from seetf.common.money import CENT, MONEY


class DateInput(forms.DateInput):
    """The browser's date picker; the value is sent as YYYY-MM-DD."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class MoneyInput(forms.NumberInput):
    def __init__(self, attrs=None):
        defaults = {"step": "0.01", "min": "0", "inputmode": "decimal"}
        super().__init__(attrs={**defaults, **(attrs or {})})


class WebForm(forms.Form):
    """The web pages' forms: a required field's label is marked (site.css adds "*")."""

    required_css_class = "required"

    def __init__(self, *args, **kwargs):
        # No ":" after labels (Form.__init__ would replace a class attribute).
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def apply_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: each message next to its field when
    the form has that field, otherwise at the top of the form."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            for message in messages:
                form.add_error(field if field in form.fields else None, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


@contextmanager
def service_errors_on(form: forms.BaseForm):
    """Call a service for a valid web form: a refusal for the user's role (403) is the 403
    page; any other refusal (a wrong status, not enough money) goes at the top of the
    form and each validation error next to its field. The form has errors afterwards
    exactly when the service refused."""
    try:
        yield
    except ApplicationError as error:
        if error.status == 403:
            raise PermissionDenied(error.message) from error
        form.add_error(None, error.message)
    except ValidationError as error:
        apply_service_errors(form, error)


class PartnerForm(WebForm):
    code = forms.CharField(
        label=_("Code"),
        max_length=16,
        help_text=_("2-16 capitals, digits, - or _; the country's ISO3 code for a country."),
    )
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", "---------"), *PartnerKind.choices])
    country = forms.ModelChoiceField(
        label=_("Country"), queryset=Country.objects.order_by("name"), required=False
    )
    joined_on = forms.DateField(label=_("Joined on"), required=False, widget=DateInput())

    @classmethod
    def initial_for(cls, partner: Partner) -> dict:
        return {
            "code": partner.code,
            "name": partner.name,
            "kind": partner.kind,
            "country": partner.country_id,
            "joined_on": partner.joined_on,
        }


class ContributionForm(WebForm):
    partner = forms.ModelChoiceField(label=_("Partner"), queryset=Partner.objects.order_by("name"))
    reference = forms.CharField(label=_("Reference"), max_length=64)
    currency = forms.CharField(
        label=_("Currency"),
        max_length=3,
        min_length=3,
        initial="USD",
        help_text=_("ISO 4217 code, such as USD, EUR or DKK."),
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "size": 4}),
    )
    pledged_amount = forms.DecimalField(
        label=_("Amount pledged (in the currency)"),
        **MONEY,
        min_value=CENT,
        max_value=MAX_AMOUNT,
        widget=MoneyInput(),
    )
    pledged_usd = forms.DecimalField(
        label=_("USD value of the pledge"),
        **MONEY,
        min_value=CENT,
        max_value=MAX_AMOUNT,
        required=False,
        widget=MoneyInput(),
        help_text=_("For a pledge in another currency; a USD pledge is its own value."),
    )
    signed_on = forms.DateField(label=_("Signed on"), required=False, widget=DateInput())
    period_start = forms.DateField(label=_("Period start"), required=False, widget=DateInput())
    period_end = forms.DateField(label=_("Period end"), required=False, widget=DateInput())

    @classmethod
    def initial_for(cls, contribution) -> dict:
        return {
            "partner": contribution.partner_id,
            "reference": contribution.reference,
            "currency": contribution.currency,
            "pledged_amount": contribution.pledged_amount,
            # A USD pledge is its own USD value: left blank, it follows the amount.
            "pledged_usd": None if contribution.currency == "USD" else contribution.pledged_usd,
            "signed_on": contribution.signed_on,
            "period_start": contribution.period_start,
            "period_end": contribution.period_end,
        }

    def service_fields(self) -> dict:
        """The cleaned data as the services take it: a blank USD value is left out (the
        service derives it for a USD pledge and asks for it otherwise)."""
        data = dict(self.cleaned_data)
        if data.get("pledged_usd") is None:
            data.pop("pledged_usd", None)
        return data


class ReceiptForm(WebForm):
    amount = forms.DecimalField(
        label=_("Amount received (in the pledge's currency)"),
        **MONEY,
        min_value=CENT,
        max_value=MAX_AMOUNT,
        widget=MoneyInput(),
    )
    usd_amount = forms.DecimalField(
        label=_("USD credited"),
        **MONEY,
        min_value=CENT,
        max_value=MAX_AMOUNT,
        required=False,
        widget=MoneyInput(),
        help_text=_("For money in another currency; a USD receipt is its own value."),
    )
    received_on = forms.DateField(label=_("Received on"), widget=DateInput())
