"""The portfolio workbook: its sheets, their columns and what each cell holds.

One declaration for the importer (``importer``), the exporter (``exporter``) and the
template: a sheet is a list of :class:`Column` (name, kind, required, example). A cell is
read into its *canonical* value, the one the exporter writes and the importer compares
with what the database holds (a re-import of the same file changes nothing):

- ``text``: a string, stripped (a leading ``'`` that the exporter put before ``=``, ``+``,
  ``-``, ``@`` against formula injection is taken off again);
- ``code``: a string, stripped, in capitals (partner and country codes, currencies);
- ``choice``: one of the column's ``choices`` (lower-case codes);
- ``codes``: several codes separated by spaces, commas or semicolons: a sorted tuple;
- ``date``: a date (a date cell, or text ``YYYY-MM-DD``);
- ``money``: a Decimal with at most two places (a number cell, or text ``1234.50``);
- ``int``: a whole number, 0 when empty;
- ``bool``: yes/no, true/false, 1/0 (empty: no).
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property

from brokering.models import OfferStatus, RequestStatus
from grants.models import CapacityOutcome, ExchangeStatus, GrantStatus, Instrument
from partners.models import PartnerKind, Region, WindowKind, WindowStatus
from results.models import ConcreteResultKind, Rating

IMPORTABLE_STATUSES = [s for s in GrantStatus.values if s != GrantStatus.DRAFT]
# The movements a file gives; a closing's and a closed window's grants' returns follow.
WINDOW_MOVEMENT_KINDS = ("allocation", "release")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = "text"
    required: bool = False
    choices: tuple = ()
    example: object = None
    help: str = ""


@dataclass(frozen=True)
class Sheet:
    name: str
    columns: tuple
    help: str = ""
    key: tuple = field(default=())

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return self.by_name[name]

    @cached_property
    def by_name(self) -> dict:
        return {c.name: c for c in self.columns}


def _choices(enum) -> tuple:
    return tuple(enum.values)


SHEETS = (
    Sheet(
        "partners",
        (
            Column("code", "code", True, example="EXM", help="2-16 capitals, digits, - or _"),
            Column("name", "text", True, example="Example Republic"),
            Column("kind", "choice", True, _choices(PartnerKind), example="traditional_donor"),
            Column("country", "code", example="", help="ISO 3166 alpha-3 (codes sheet)"),
            Column("joined_on", "date", example=date(2020, 1, 15)),
        ),
        help="One row per partner; the code is its key.",
        key=("code",),
    ),
    Sheet(
        "contributions",
        (
            Column("reference", "text", True, example="EXM-2020-01"),
            Column("partner", "code", True, example="EXM", help="a partner's code"),
            Column("currency", "code", True, example="USD", help="ISO 4217"),
            Column("pledged_amount", "money", True, example=Decimal("500000.00")),
            Column("pledged_usd", "money", example=Decimal("500000.00"), help="empty for USD"),
            Column("signed_on", "date", example=date(2020, 1, 15)),
            Column("period_start", "date", example=date(2020, 1, 1)),
            Column("period_end", "date", example=date(2022, 12, 31)),
        ),
        help="One row per pledge; the reference is its key.",
        key=("reference",),
    ),
    Sheet(
        "receipts",
        (
            Column("contribution", "text", True, example="EXM-2020-01"),
            Column("received_on", "date", True, example=date(2020, 2, 1)),
            Column("amount", "money", True, example=Decimal("300000.00")),
            Column("usd_amount", "money", example=Decimal("300000.00"), help="empty for USD"),
        ),
        help="Money paid in against a pledge.",
    ),
    Sheet(
        "windows",
        (
            Column("code", "code", True, example="AFR-1", help="2-16 capitals, digits, - or _"),
            Column("name", "text", True, example="Africa regional window"),
            Column("kind", "choice", True, _choices(WindowKind), example="regional"),
            Column(
                "region",
                "choice",
                False,
                _choices(Region),
                example="AFR",
                help="when set, its grants and their recipients are in this region",
            ),
            Column(
                "sectors",
                "codes",
                example="",
                help="DAC codes; when any are set, a grant's sector is one of them",
            ),
            Column("max_grant_usd", "money", True, example=Decimal("150000.00")),
            Column(
                "opens_on",
                "date",
                True,
                example=date(2020, 1, 1),
                help="the window takes proposals from this day...",
            ),
            Column("closes_on", "date", True, example=date(2021, 12, 31), help="...to this day"),
            Column("status", "choice", True, _choices(WindowStatus), example="open"),
            Column(
                "closed_on",
                "date",
                example=None,
                help="a closed window: the day it was closed (its money went back)",
            ),
            Column(
                "approvers",
                "text",
                example="example_window_manager: 100000.00",
                help="one 'username: limit in USD' per line (window managers)",
            ),
            Column("created_on", "date", True, example=date(2020, 1, 1)),
        ),
        help="One row per funding window; the code is its key.",
        key=("code",),
    ),
    Sheet(
        "window_movements",
        (
            Column("window", "code", True, example="AFR-1", help="a window's code"),
            Column("kind", "choice", True, WINDOW_MOVEMENT_KINDS, example="allocation"),
            Column("moved_on", "date", True, example=date(2020, 12, 20)),
            Column("amount_usd", "money", True, example=Decimal("1000.00")),
            Column("reason", "text", example="Initial allocation"),
        ),
        help="Money moved from the fund into a window (allocation) and back (release); "
        "the closing's return and the grants' returns after it follow from the windows "
        "and grants sheets.",
    ),
    Sheet(
        "grants",
        (
            Column("reference", "text", True, example="SEETF-2020-0001", help="SEETF-YYYY-NNNN"),
            Column("title", "text", True, example="Conditional cash transfers: a study tour"),
            Column("summary", "text", example=""),
            Column("task_team_leader", "text", True, example="example_leader", help="username"),
            Column("sector", "code", True, example="16010", help="DAC 5-digit code"),
            Column("region", "choice", True, _choices(Region), example="AFR"),
            Column(
                "window", "code", example="", help="a window's code (e.g. AFR-1); empty: the fund"
            ),
            Column("recipient_countries", "codes", example="KEN"),
            Column("provider_countries", "codes", example="BRA"),
            Column("facilitating_partners", "codes", example="", help="partner codes"),
            Column(
                "recipient_endorsed_on",
                "date",
                example=None,
                help="the recipient government's endorsement (a triangular grant needs it)",
            ),
            Column("requested_usd", "money", True, example=Decimal("100000.00")),
            Column("development_goal", "text", example=""),
            Column("targeted_outcomes", "codes", example="raised_awareness"),
            Column("planned_start", "date", True, example=date(2020, 4, 1)),
            Column("planned_end", "date", True, example=date(2020, 9, 30)),
            Column("status", "choice", True, tuple(IMPORTABLE_STATUSES), example="closed"),
            Column("created_on", "date", True, example=date(2020, 2, 10)),
            Column("submitted_on", "date", True, example=date(2020, 2, 12)),
            Column("review_started_on", "date", example=date(2020, 2, 14)),
            Column("decided_on", "date", example=date(2020, 3, 1)),
            Column("approved_usd", "money", example=Decimal("95000.00")),
            Column("decision_comment", "text", example=""),
            Column("ended_on", "date", example=date(2020, 12, 15), help="closed or cancelled"),
            Column("end_comment", "text", example=""),
        ),
        help="One row per grant (drafts stay with their leader); the reference is its key.",
        key=("reference",),
    ),
    Sheet(
        "exchanges",
        (
            Column("grant", "text", True, example="SEETF-2020-0001"),
            Column("title", "text", True, example="Study tour to Brasilia"),
            Column("instrument", "choice", True, _choices(Instrument), example="study_tour"),
            Column("start_date", "date", True, example=date(2020, 5, 4)),
            Column("end_date", "date", True, example=date(2020, 5, 8)),
            Column("location", "text", example="Brasilia"),
            Column("participants", "int", example=12),
            Column("women_participants", "int", example=5),
            Column("status", "choice", True, _choices(ExchangeStatus), example="held"),
            Column("provider_countries", "codes", example="BRA"),
            Column("recipient_countries", "codes", example="KEN"),
        ),
        help="The exchanges of a grant.",
    ),
    Sheet(
        "disbursements",
        (
            Column("grant", "text", True, example="SEETF-2020-0001"),
            Column("disbursed_on", "date", True, example=date(2020, 4, 15)),
            Column("amount_usd", "money", True, example=Decimal("90000.00")),
            Column("purpose", "text", example="Travel and accommodation"),
        ),
        help="Money paid out of an approved grant.",
    ),
    Sheet(
        "completion_reports",
        (
            Column("grant", "text", True, example="SEETF-2020-0001"),
            Column("outcomes_achieved", "codes", example="raised_awareness enhanced_networks"),
            Column("participants", "int", example=12),
            Column("rating", "choice", False, _choices(Rating), example="S"),
            Column("lessons", "text", example="Meet the practitioners, not only officials."),
            Column("follow_up_needed", "bool", example=False),
            Column("follow_up_description", "text", example=""),
            Column(
                "concrete_results",
                "text",
                example="action_plan: A national action plan adopted.",
                help="one 'kind: description' per line",
            ),
            Column("submitted_on", "date", example=date(2020, 11, 20)),
            Column("accepted_on", "date", example=date(2020, 12, 1)),
        ),
        help="One per grant: written while approved, submitted (completed), accepted.",
    ),
    Sheet(
        "offers",
        (
            Column("reference", "code", True, example="OFR-2020-0001", help="OFR-YYYY-NNNN"),
            Column("title", "text", True, example="Conditional cash transfers: what worked"),
            Column("description", "text", True, example="The reforms and their results."),
            Column("provider_country", "code", True, example="BRA", help="ISO 3166 alpha-3"),
            Column("institution", "text", True, example="Ministry of Social Development"),
            Column("sectors", "codes", True, example="16010", help="DAC codes"),
            Column("instruments", "codes", True, example="study_tour", help="instrument codes"),
            Column("languages", "codes", True, example="en pt", help="ISO 639-1"),
            Column("capacity_per_year", "int", True, example=4, help="exchanges a year"),
            Column("contact_name", "text", True, example="Example Contact"),
            Column("contact_email", "text", True, example="contact@example.org"),
            Column("status", "choice", True, _choices(OfferStatus), example="published"),
            Column("created_by", "text", True, example="example_leader", help="username"),
            Column("created_on", "date", True, example=date(2020, 1, 20)),
        ),
        help="What provider countries' institutions offer; the reference is its key.",
        key=("reference",),
    ),
    Sheet(
        "requests",
        (
            Column("reference", "code", True, example="REQ-2020-0001", help="REQ-YYYY-NNNN"),
            Column("title", "text", True, example="Cash transfers for Kenya"),
            Column("description", "text", True, example="Kenya wants to learn from its peers."),
            Column("recipient_country", "code", True, example="KEN", help="ISO 3166 alpha-3"),
            Column("sectors", "codes", True, example="16010", help="DAC codes"),
            Column("instruments", "codes", True, example="study_tour", help="instrument codes"),
            Column("languages", "codes", True, example="en", help="ISO 639-1"),
            Column(
                "needed_by",
                "date",
                True,
                example=date(2020, 6, 30),
                help="may be past for a request of the past",
            ),
            Column("endorsed_on", "date", example=date(2020, 1, 25)),
            Column("status", "choice", True, _choices(RequestStatus), example="matched"),
            Column("requested_by", "text", True, example="example_leader", help="username"),
            Column("created_on", "date", True, example=date(2020, 1, 25)),
            Column("offer", "code", example="OFR-2020-0001", help="matched: the offer"),
            Column("grant", "text", example="SEETF-2020-0001", help="matched: the grant"),
            Column("matched_on", "date", example=date(2020, 2, 10)),
        ),
        help="What recipient countries ask for, and the match a request became; the "
        "reference is its key.",
        key=("reference",),
    ),
)
SHEET_BY_NAME = {s.name: s for s in SHEETS}
CODES_SHEET = "codes"
HELP_SHEET = "help"
# Sheets the template carries for people, which the importer passes over.
IGNORED_SHEETS = {CODES_SHEET, HELP_SHEET}

# The code lists of the "codes" sheet (countries and sectors are read from the database).
CODE_LISTS = {
    "partner kind": PartnerKind.choices,
    "region": Region.choices,
    "grant status": [(v, label) for v, label in GrantStatus.choices if v in IMPORTABLE_STATUSES],
    "instrument": Instrument.choices,
    "exchange status": ExchangeStatus.choices,
    "outcome": CapacityOutcome.choices,
    "rating": Rating.choices,
    "concrete result kind": ConcreteResultKind.choices,
    "window kind": WindowKind.choices,
    "window status": WindowStatus.choices,
    "window movement": [("allocation", "Allocated from the fund"), ("release", "Released")],
    "offer status": OfferStatus.choices,
    "request status": RequestStatus.choices,
}
