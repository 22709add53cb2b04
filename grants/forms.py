"""The web forms of grants: they parse and check what a person typed (types, required
fields, choices from the reference data); the rules of the fund stay in the services,
whose ValidationErrors are shown next to the fields by
``seetf.common.forms.apply_service_errors``."""

from django import forms
from django.utils.translation import gettext_lazy as _

from partners.countries import country_name
from partners.models import Country, Partner, PartnerKind, Region, Sector, Window, WindowStatus
from seetf.common.forms import DateInput, MoneyInput, WebForm
from seetf.common.money import CENT, MONEY

from .models import MAX_GRANT_USD, CapacityOutcome, ExchangeStatus, Instrument

COMMENT_MAX = 5000
PARTICIPANTS_MAX = 100000


def _countries():
    return Country.objects.order_by("name")


class CountriesField(forms.ModelMultipleChoiceField):
    """A multiple choice of countries; seetf/forms.js puts a search box above it (the
    plain select works without a script)."""

    widget = forms.SelectMultiple(
        attrs={
            "size": 8,
            "data-picker": "countries",
            "data-picker-label": _("Type to find a country"),
        }
    )

    def label_from_instance(self, obj):
        # Named in the page's language (pycountry's translations; English unchanged).
        return f"{country_name(obj)} ({obj.code})"


NEEDED_TO_SUBMIT = _("Needed to submit.")
# What a draft may be saved without (the submission requires them: grants.workflow).
DRAFT_OPTIONAL = (
    "sector",
    "region",
    "recipient_countries",
    "planned_start",
    "planned_end",
    "requested_usd",
)


class ProposalForm(WebForm):
    """A task team leader's proposal (create, and edit while draft or returned). A draft
    is saved with only its title; the rest is marked "Needed to submit." and required by
    the submission (every missing field named at once)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in DRAFT_OPTIONAL:
            field = self.fields[name]
            field.required = False
            field.help_text = f"{field.help_text} {NEEDED_TO_SUBMIT}".strip()

    title = forms.CharField(label=_("Title"), max_length=200)
    summary = forms.CharField(
        label=_("Summary"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    development_goal = forms.CharField(
        label=_("Development goal"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    sector = forms.ModelChoiceField(
        label=_("Sector"),
        queryset=Sector.objects.order_by("code"),
        help_text=_("The OECD DAC purpose code."),
    )
    region = forms.ChoiceField(label=_("Region"), choices=[("", "---------"), *Region.choices])
    recipient_countries = CountriesField(
        label=_("Recipient countries"),
        queryset=_countries(),
        help_text=_(
            "The countries that learn. Type to find one; hold Ctrl (or Cmd) to choose several."
        ),
    )
    provider_countries = CountriesField(
        label=_("Provider countries"),
        queryset=_countries(),
        required=False,
        help_text=_("The countries that share their experience."),
    )
    facilitating_partners = forms.ModelMultipleChoiceField(
        label=_("Facilitating partners"),
        queryset=Partner.objects.filter(kind=PartnerKind.TRADITIONAL_DONOR).order_by("name"),
        required=False,
        widget=forms.SelectMultiple(
            attrs={
                "size": 5,
                "data-picker": "partners",
                "data-picker-label": _("Type to find a partner"),
            }
        ),
        help_text=_("Traditional donors in a triangular exchange."),
    )
    recipient_endorsed_on = forms.DateField(
        label=_("Recipient's endorsement"),
        required=False,
        widget=DateInput(),
        help_text=_(
            "When the recipient government endorsed the exchange: a triangular grant is "
            "approved only once it is recorded."
        ),
    )
    targeted_outcomes = forms.MultipleChoiceField(
        label=_("Targeted capacity outcomes"),
        choices=CapacityOutcome.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    planned_start = forms.DateField(label=_("Planned start"), widget=DateInput())
    planned_end = forms.DateField(label=_("Planned end"), widget=DateInput())
    requested_usd = forms.DecimalField(
        label=_("Requested amount (USD)"),
        **MONEY,
        min_value=CENT,
        max_value=MAX_GRANT_USD,
        widget=MoneyInput(),
    )
    window = forms.ModelChoiceField(
        label=_("Funding window"),
        queryset=Window.objects.filter(status=WindowStatus.OPEN).order_by("code"),
        required=False,
        empty_label=_("None: the fund itself"),
        help_text=_("A window's proposals must fit its region, sectors, dates and largest grant."),
    )

    @classmethod
    def initial_for(cls, grant) -> dict:
        return {
            "title": grant.title,
            "summary": grant.summary,
            "development_goal": grant.development_goal,
            "sector": grant.sector_id,
            "region": grant.region,
            "recipient_countries": [c.pk for c in grant.recipient_countries.all()],
            "provider_countries": [c.pk for c in grant.provider_countries.all()],
            "facilitating_partners": [p.pk for p in grant.facilitating_partners.all()],
            "targeted_outcomes": list(grant.targeted_outcomes or []),
            "planned_start": grant.planned_start,
            "planned_end": grant.planned_end,
            "requested_usd": grant.requested_usd,
            "window": grant.window_id,
            "recipient_endorsed_on": grant.recipient_endorsed_on,
        }

    def service_fields(self) -> dict:
        """The cleaned data as the grant services take it: an empty recipient list is
        left out (a draft without recipients yet; an edit keeps the ones named)."""
        data = dict(self.cleaned_data)
        for name in ("recipient_countries", "provider_countries", "facilitating_partners"):
            data[name] = list(data[name])
        if not data["recipient_countries"]:
            del data["recipient_countries"]
        return data


class PlannedExchangeForm(WebForm):
    """One planned exchange, in the proposal form (its countries are set on its own
    page, once the proposal is saved). A row may stay empty: no field is marked."""

    required_css_class = ""

    id = forms.IntegerField(widget=forms.HiddenInput, required=False)
    instrument = forms.ChoiceField(
        label=_("Instrument"), choices=[("", "---------"), *Instrument.choices]
    )
    title = forms.CharField(label=_("Exchange title"), max_length=200)
    start_date = forms.DateField(label=_("Start"), widget=DateInput())
    end_date = forms.DateField(label=_("End"), widget=DateInput())
    location = forms.CharField(label=_("Location"), max_length=200, required=False)
    # Not required, and no initial value: a row left empty stays unchanged (skipped).
    participants = forms.IntegerField(
        label=_("Participants"), min_value=0, max_value=PARTICIPANTS_MAX, required=False
    )
    # A saved row's "Remove": the exchange is removed when the proposal is saved
    # (grants.services.exchange_remove; shown only on rows already saved).
    remove = forms.BooleanField(label=_("Remove this exchange"), required=False)

    def service_fields(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k not in ("id", "remove")}
        data["participants"] = data.get("participants") or 0
        return data


class BasePlannedExchangeFormSet(forms.BaseFormSet):
    def get_form_kwargs(self, index):
        kwargs = super().get_form_kwargs(index)
        kwargs["use_required_attribute"] = False  # the extra rows may stay empty
        return kwargs


PlannedExchangeFormSet = forms.formset_factory(
    PlannedExchangeForm, formset=BasePlannedExchangeFormSet, extra=2, max_num=30
)


class ExchangeForm(WebForm):
    """An exchange on its own page: everything the leader or a fund manager records."""

    instrument = forms.ChoiceField(
        label=_("Instrument"), choices=[("", "---------"), *Instrument.choices]
    )
    title = forms.CharField(label=_("Title"), max_length=200)
    # Recipients first, then providers: in the order of the proposal's form.
    recipient_countries = CountriesField(
        label=_("Recipient countries"), queryset=_countries(), required=False
    )
    provider_countries = CountriesField(
        label=_("Provider countries"), queryset=_countries(), required=False
    )
    start_date = forms.DateField(label=_("Start"), widget=DateInput())
    end_date = forms.DateField(label=_("End"), widget=DateInput())
    location = forms.CharField(label=_("Location"), max_length=200, required=False)
    participants = forms.IntegerField(
        label=_("Participants"), min_value=0, max_value=PARTICIPANTS_MAX, initial=0
    )
    women_participants = forms.IntegerField(
        label=_("Of whom women"), min_value=0, max_value=PARTICIPANTS_MAX, initial=0
    )
    status = forms.ChoiceField(
        label=_("Status"), choices=ExchangeStatus.choices, initial=ExchangeStatus.PLANNED
    )

    @classmethod
    def initial_for(cls, exchange) -> dict:
        return {
            "instrument": exchange.instrument,
            "title": exchange.title,
            "provider_countries": [c.pk for c in exchange.provider_countries.all()],
            "recipient_countries": [c.pk for c in exchange.recipient_countries.all()],
            "start_date": exchange.start_date,
            "end_date": exchange.end_date,
            "location": exchange.location,
            "participants": exchange.participants,
            "women_participants": exchange.women_participants,
            "status": exchange.status,
        }

    @classmethod
    def initial_from_grant(cls, grant) -> dict:
        """A new exchange starts from its proposal's countries."""
        return {
            "recipient_countries": [c.pk for c in grant.recipient_countries.all()],
            "provider_countries": [c.pk for c in grant.provider_countries.all()],
        }

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        for name in ("provider_countries", "recipient_countries"):
            data[name] = list(data[name])
        return data


class CommentForm(WebForm):
    comment = forms.CharField(
        label=_("Comment"),
        max_length=COMMENT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class RequiredCommentForm(CommentForm):
    """Returning a proposal says what to change: the leader reads it."""

    comment = forms.CharField(
        label=_("Comment to the task team leader"),
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Say what to change: the leader revises the proposal and resubmits it."),
    )


class ConfirmedCommentForm(RequiredCommentForm):
    """A decision that cannot be undone (rejecting, cancelling) is confirmed on the page
    (a checkbox, no script) and says why."""

    confirm = forms.BooleanField(
        label=_("I confirm: this cannot be undone."),
        error_messages={"required": _("Tick the box to confirm.")},
    )

    def transition_inputs(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k != "confirm"}


class RejectForm(ConfirmedCommentForm):
    comment = forms.CharField(
        label=_("Why the proposal is rejected"),
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The leader reads it. A rejected proposal cannot be resubmitted."),
    )


class CancelForm(ConfirmedCommentForm):
    comment = forms.CharField(
        label=_("Why the grant is cancelled"),
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "The leader and the donors read it. Nothing more is disbursed; what was "
            "disbursed stays on record."
        ),
    )


class ApproveForm(CommentForm):
    approved_usd = forms.DecimalField(
        label=_("Amount approved (USD)"),
        **MONEY,
        min_value=CENT,
        max_value=MAX_GRANT_USD,
        widget=MoneyInput(),
    )


class DisbursementForm(WebForm):
    amount_usd = forms.DecimalField(
        label=_("Amount (USD)"),
        **MONEY,
        min_value=CENT,
        max_value=MAX_GRANT_USD,
        widget=MoneyInput(),
    )
    disbursed_on = forms.DateField(label=_("Disbursed on"), widget=DateInput())
    purpose = forms.CharField(label=_("Purpose"), max_length=500, required=False)
