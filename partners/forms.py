"""The web forms of partners and money in. Forms parse what was typed; the rules (a
receipt within the pledge, a known currency, a unique reference...) are the services'."""

from django import forms
from django.contrib.auth import forms as auth_forms
from django.utils.translation import gettext_lazy as _

from partners import services
from partners.models import (
    MAX_AMOUNT,
    REASON_MAX_LENGTH,
    Country,
    IatiOrgType,
    Partner,
    PartnerKind,
)
from seetf.common.forms import DateInput, MoneyInput, WebForm
from seetf.common.money import CENT, MONEY


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
    iati_org_ref = forms.CharField(
        label=_("IATI organisation identifier"),
        max_length=100,
        required=False,
        help_text=_("For the IATI files, e.g. XM-DAC-3 (Denmark); empty if it has none."),
    )
    iati_org_type = forms.ChoiceField(
        label=_("IATI organisation type"),
        choices=[("", _("From the kind")), *IatiOrgType.choices],
        required=False,
    )

    @classmethod
    def initial_for(cls, partner: Partner) -> dict:
        return {
            "code": partner.code,
            "name": partner.name,
            "kind": partner.kind,
            "country": partner.country_id,
            "joined_on": partner.joined_on,
            "iati_org_ref": partner.iati_org_ref,
            "iati_org_type": partner.iati_org_type,
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
    provider_activity_id = forms.CharField(
        label=_("Donor's IATI activity identifier"),
        max_length=200,
        required=False,
        help_text=_("The donor's own IATI activity this money comes from, if it publishes one."),
    )

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
            "provider_activity_id": contribution.provider_activity_id,
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


class ReversalForm(WebForm):
    """Reverse a receipt or a disbursement: the reason is required (the services check
    it again, and everything else)."""

    reason = forms.CharField(
        label=_("Reason for reversing"), max_length=REASON_MAX_LENGTH, strip=True
    )


def mark_reversals(entries: list, *, can_reverse: bool, url_for, bound=None) -> list:
    """Mark the receipts or disbursements of a page for its table: ``original`` on a
    reversing entry (the entry it reverses), ``is_reversed`` on a reversed one, and on
    each that may still be reversed (for a user who may) its ``reversal_form`` and
    ``reverse_url``. ``bound`` is ``(entry_id, form)``: a submitted form to show again
    with its errors. Reads nothing more than the entries given."""
    by_id = {entry.pk: entry for entry in entries}
    reversed_ids = {entry.reverses_id for entry in entries if entry.reverses_id}
    bound_id, bound_form = bound or (None, None)
    for entry in entries:
        entry.original = by_id.get(entry.reverses_id)
        entry.is_reversed = entry.pk in reversed_ids
        entry.reversal_form = None
        if can_reverse and entry.reverses_id is None and not entry.is_reversed:
            entry.reverse_url = url_for(entry)
            entry.reversal_form = (
                bound_form
                if entry.pk == bound_id
                else ReversalForm(auto_id=f"id_reverse_{entry.pk}_%s")
            )
    return entries


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    """Django's password change (old password, new one twice, the validators), saved
    through ``services.user_password_change``, which also ends the user's API tokens."""

    def save(self, commit=True):
        return services.user_password_change(
            user=self.user, password=self.cleaned_data["new_password1"]
        )
