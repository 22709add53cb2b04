from decimal import Decimal

from rest_framework import serializers

from partners.api.serializers import REVERSAL_FIELDS
from partners.models import Country, Partner, Region, Sector, Window
from seetf.common.money import CENT, MONEY
from seetf.common.pagination import Rows
from seetf.common.rows import Children, Computed, RowRepresentation

from ..models import (
    MAX_GRANT_USD,
    CapacityOutcome,
    Disbursement,
    Exchange,
    ExchangeStatus,
    Grant,
    GrantHistory,
    GrantPartnerRole,
    GrantRelation,
    GrantStatus,
    Instrument,
    PartnerRole,
)
from ..selectors import WORKFLOW_COLUMNS


class FundSummarySerializer(serializers.Serializer):
    pledged_usd = serializers.DecimalField(**MONEY)
    received_usd = serializers.DecimalField(**MONEY)
    committed_usd = serializers.DecimalField(
        **MONEY, help_text="Approved amounts of grants not cancelled, less what was released."
    )
    disbursed_usd = serializers.DecimalField(**MONEY)
    allocated_usd = serializers.DecimalField(
        **MONEY,
        help_text="Money set aside in funding windows and not yet committed there.",
    )
    available_usd = serializers.DecimalField(
        **MONEY, help_text="received - committed - allocated; never below zero."
    )
    pipeline_usd = serializers.DecimalField(
        **MONEY, help_text="Requested amounts of grants submitted or under review."
    )
    low_balance_threshold_usd = serializers.DecimalField(**MONEY)
    as_of = serializers.DateTimeField()


def _countries(**kwargs):
    return serializers.SlugRelatedField(
        many=True,
        slug_field="code",
        queryset=Country.objects.all(),
        help_text="ISO 3166-1 alpha-3 codes.",
        **kwargs,
    )


class GrantPartnerRoleSerializer(serializers.ModelSerializer):
    """The part a partner plays in a grant. ``cofinancing_usd``: what a co-financier
    finances outside the fund (reported, never in the ledger); only for ``cofinancier``."""

    partner = serializers.PrimaryKeyRelatedField(queryset=Partner.objects.all())
    role = serializers.ChoiceField(choices=PartnerRole.choices)
    cofinancing_usd = serializers.DecimalField(
        **MONEY,
        min_value=CENT,
        max_value=MAX_GRANT_USD * 10,
        required=False,
        allow_null=True,
        default=None,
        help_text="USD financed outside the fund: required for a cofinancier, else null.",
    )
    partner_kind = serializers.CharField(
        source="partner.kind",
        read_only=True,
        help_text="The partner's kind (traditional_donor, new_development_partner...).",
    )

    class Meta:
        model = GrantPartnerRole
        fields = ["partner", "role", "cofinancing_usd", "partner_kind"]


def _cents(text):
    return f"{Decimal(text).quantize(CENT)}"


# A grant's partner roles as the rows read them (seetf.common.rows.Children), in the
# order of GrantPartnerRole.Meta.ordering (role, then partner id).
PARTNER_ROLE_ROWS = Children(
    "partner_roles",
    {
        "partner": ("partner", int),
        "role": ("role", None),
        "cofinancing_usd": ("cofinancing_usd", _cents),
        "partner_kind": ("partner.kind", None),
    },
    order=lambda role: (role["role"], role["partner"]),
)


def _brokered(column):
    """The request or offer a grant was matched from (brokering.Match, read through its
    reverse one-to-one ``brokered_match``), or null."""

    def read(grant):
        match = getattr(grant, "brokered_match", None)
        return getattr(match, column, None) if match is not None else None

    return read


class GrantSerializer(serializers.ModelSerializer):
    """A grant. Server-owned fields (reference, status, money decided by fund managers,
    the leader, dates of decisions) are read-only: sending them changes nothing."""

    sector = serializers.PrimaryKeyRelatedField(
        queryset=Sector.objects.all(), help_text="OECD DAC 5-digit purpose code."
    )
    region = serializers.ChoiceField(choices=Region.choices)
    recipient_countries = _countries()
    provider_countries = _countries(required=False)
    facilitating_partners = serializers.PrimaryKeyRelatedField(
        many=True,
        queryset=Partner.objects.all(),
        required=False,
        help_text="Partner ids of traditional donors in a triangular exchange: the "
        "partners with the facilitator role (partner_roles). Writing it replaces the "
        "facilitator roles.",
    )
    partner_roles = GrantPartnerRoleSerializer(
        many=True,
        required=False,
        help_text="Who plays which part: financier, cofinancier (with cofinancing_usd), "
        "knowledge_provider, facilitator. Writing it replaces every role.",
    )
    recipient_endorsed_on = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="When the recipient government endorsed the exchange (not in the "
        "future); a triangular grant cannot be approved without it (409 not_endorsed).",
    )
    brokered_request = serializers.SerializerMethodField(
        help_text="The exchange request this grant was matched from (brokering), or null."
    )
    brokered_offer = serializers.SerializerMethodField(
        help_text="The knowledge offer this grant was matched with (brokering), or null."
    )
    window = serializers.PrimaryKeyRelatedField(
        queryset=Window.objects.all(),
        allow_null=True,
        required=False,
        help_text="The funding window (its id) the grant is financed from; it must fit "
        "its rules (400 on window). Null: the fund itself.",
    )
    requested_usd = serializers.DecimalField(**MONEY, min_value=CENT, max_value=MAX_GRANT_USD)
    # Required on create as before: a draft kept half written comes from the web's
    # proposal form (grants.services.grant_create takes it); the API reads it with
    # these fields null, and a PATCH completes it.
    planned_start = serializers.DateField()
    planned_end = serializers.DateField()
    targeted_outcomes = serializers.ListField(
        child=serializers.ChoiceField(choices=CapacityOutcome.choices),
        required=False,
        max_length=len(CapacityOutcome.values),
    )
    status = serializers.ChoiceField(choices=GrantStatus.choices, read_only=True)
    parent = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text="The completed or closed grant this one follows on from or repeats, or "
        "null. Set by `propose-follow-on/` (on the parent) or by a fund manager's "
        "`link-parent/`.",
    )
    relation = serializers.CharField(
        read_only=True, help_text="`follow_on` or `repeat` with a parent; empty without."
    )

    def get_brokered_request(self, grant) -> int | None:
        return _brokered("request_id")(grant)

    def get_brokered_offer(self, grant) -> int | None:
        return _brokered("offer_id")(grant)

    class Meta:
        model = Grant
        fields = [
            "id",
            "reference",
            "title",
            "summary",
            "task_team_leader",
            "sector",
            "region",
            "recipient_countries",
            "provider_countries",
            "facilitating_partners",
            "window",
            "partner_roles",
            "recipient_endorsed_on",
            "brokered_request",
            "brokered_offer",
            "requested_usd",
            "approved_usd",
            "disbursed_usd",
            "status",
            "development_goal",
            "targeted_outcomes",
            "planned_start",
            "planned_end",
            "completion_report_due",
            "submitted_at",
            "decided_at",
            "created_at",
            "parent",
            "relation",
        ]
        read_only_fields = [
            "id",
            "reference",
            "task_team_leader",
            "approved_usd",
            "disbursed_usd",
            "status",
            "completion_report_due",
            "submitted_at",
            "decided_at",
            "created_at",
        ]


# The grant list and detail, and every write's answer, from rows (seetf.common.rows):
# GrantSerializer's JSON, field for field, with its columns and conversions taken from
# its declaration. The list and detail are read far more often than anything is
# written: a ModelSerializer walking model instances costs them several times what
# their queries do. Writes still validate through GrantSerializer.
GRANT_ROWS_DECLARED = {
    "partner_roles": PARTNER_ROLE_ROWS,
    "brokered_request": Computed(
        ("brokered_match__request_id",), lambda row: row["brokered_match__request_id"]
    ),
    "brokered_offer": Computed(
        ("brokered_match__offer_id",), lambda row: row["brokered_match__offer_id"]
    ),
}
GRANT_ROWS = RowRepresentation(GrantSerializer, page_by_ids=True, declared=GRANT_ROWS_DECLARED)


def grant_rows(queryset) -> list[dict]:
    """The grants of ``queryset`` (filtered, ordered, sliced as the caller wants) as rows,
    their relations included: two queries, and no model instances."""
    return GRANT_ROWS.read(queryset)


def grant_representations(rows: list[dict]) -> list[dict]:
    """What ``GrantSerializer`` gives for each row of ``grant_rows``."""
    return GRANT_ROWS.represent(rows)


def grant_representation(row: dict) -> dict:
    return GRANT_ROWS.represent_one(row)


def represent_grant(grant: Grant) -> dict:
    """The grant as the list and detail give it, read afresh: what a write answers."""
    return GRANT_ROWS.represent_pk(grant.pk)


class GrantRows(Rows):
    """A queryset of grants seen as rows (``grant_rows``), for Django's paginator;
    ``counted`` gives their number without counting them when it is known (the counts
    by status: ``filters.status_scope``, ``selectors.grant_count_at``), or None."""

    def __init__(self, queryset, counted=None):
        super().__init__(queryset, grant_rows, counted=counted)


class TransitionSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class ApproveSerializer(TransitionSerializer):
    approved_usd = serializers.DecimalField(
        **MONEY,
        min_value=CENT,
        max_value=MAX_GRANT_USD,
        help_text="At most the amount requested and the fund's available money (the "
        "window's, for a grant of a funding window; and a window approver's limit).",
    )


class AllowedActionSerializer(serializers.Serializer):
    """One workflow action on a grant for the requesting user (grants.workflow)."""

    action = serializers.CharField()
    allowed = serializers.BooleanField()
    reason = serializers.CharField(help_text="Why not, as the action would answer; or empty.")
    code = serializers.CharField(
        help_text="The refusal's code (permission_denied, self_approval, invalid_transition, "
        "window_ineligible)."
    )


class GrantDetailSerializer(GrantSerializer):
    """A grant's detail: the grant, and what the requesting user may do with it now."""

    allowed_actions = AllowedActionSerializer(many=True, read_only=True)

    class Meta(GrantSerializer.Meta):
        fields = [*GrantSerializer.Meta.fields, "allowed_actions"]


# The detail's rows: the grant's, and the columns its ``allowed_actions`` are worked out
# from (``grants.selectors.workflow_grant``), read in the same query; the view fills in
# the list for the requesting user.
GRANT_DETAIL_ROWS = RowRepresentation(
    GrantDetailSerializer,
    declared={
        **GRANT_ROWS_DECLARED,
        "allowed_actions": Computed(WORKFLOW_COLUMNS, lambda row: None),
    },
)


class ProposeFollowOnSerializer(serializers.Serializer):
    relation = serializers.ChoiceField(
        choices=GrantRelation.choices,
        default=GrantRelation.FOLLOW_ON,
        help_text="follow_on (the default): the next step; repeat: the same exchange again.",
    )


class LinkParentSerializer(serializers.Serializer):
    parent = serializers.PrimaryKeyRelatedField(
        queryset=Grant.objects.all(),
        allow_null=True,
        help_text="The completed or closed grant (its id) this one follows; null removes it.",
    )
    relation = serializers.ChoiceField(
        choices=GrantRelation.choices, required=False, default=GrantRelation.FOLLOW_ON
    )


class ChainGrantSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField(allow_null=True)
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=GrantStatus.choices)
    relation = serializers.CharField(help_text="How it follows its own parent.")


class DescendantSerializer(ChainGrantSerializer):
    parent = serializers.IntegerField(source="parent_id")
    depth = serializers.IntegerField(help_text="1: a child, 2: a grandchild...")


class ChainSerializer(serializers.Serializer):
    ancestors = ChainGrantSerializer(many=True, help_text="The root first, the parent last.")
    descendants = DescendantSerializer(many=True, help_text="Generation by generation.")


class HistorySerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = GrantHistory
        fields = ["at", "actor", "action", "from_status", "to_status", "comment"]
        read_only_fields = fields


class ExchangeSerializer(serializers.ModelSerializer):
    instrument = serializers.ChoiceField(choices=Instrument.choices)
    status = serializers.ChoiceField(choices=ExchangeStatus.choices, required=False)
    provider_countries = _countries(required=False)
    recipient_countries = _countries(required=False)
    participants = serializers.IntegerField(min_value=0, max_value=100000, required=False)
    women_participants = serializers.IntegerField(min_value=0, max_value=100000, required=False)

    class Meta:
        model = Exchange
        fields = [
            "id",
            "instrument",
            "title",
            "provider_countries",
            "recipient_countries",
            "start_date",
            "end_date",
            "location",
            "participants",
            "women_participants",
            "status",
        ]


class DisbursementSerializer(serializers.ModelSerializer):
    amount_usd = serializers.DecimalField(**MONEY, min_value=CENT, max_value=MAX_GRANT_USD)

    class Meta:
        model = Disbursement
        fields = ["id", "amount_usd", "disbursed_on", "purpose", *REVERSAL_FIELDS]
        read_only_fields = REVERSAL_FIELDS
