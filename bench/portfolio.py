"""A deterministic, realistic synthetic portfolio, for benchmarks and scale tests.

``generate_portfolio(grants=N, seed=S)`` writes, in bulk, what a fund that has run for
about twelve years would hold: partners with pledges in their own currencies and the
receipts paid in against them; task team leaders, fund managers and donor users;
``N`` grants in every status of the workflow (most of them closed, as in a mature
fund), requested amounts around USD 100,000, each with one to five exchanges, the
history of every decision, disbursements, completion reports with their capacity
outcomes, concrete results and lessons; results stories about some closed grants;
funding windows with their approvers and movements, about a fifth of the grants in them;
the completion-report reminders already sent, and the funding alerts raised and
resolved over the years; knowledge offers and exchange requests; the follow-up needs
the reports asked for and what became of them, the ex-post checks of the closed grants
and the lessons the submitted reports became; documents (small real files, in the
``documents`` storage); the grants' discussions; and the last year's notifications.

Everything comes from ``random.Random(seed)`` (and, for what was added later, streams of
their own derived from the seed, so that adding them changed nothing else) and a fixed
``as_of`` date, never from the clock: the same seed and size give the same data, row for
row (primary keys aside). The fund's ledger (``partners.Fund``) is set to the exact
totals of what was written (received from the receipts, committed and disbursed from the
grants) in the same transaction, and checked against ``fund_ledger_from_records()``
before commit; available money is never below zero.

Rows are written with ``bulk_create`` and the many-to-many through tables directly,
not through the services: the services' rules are what the data respects by
construction (and the tests in tests/perf check it), not what is under test here.
"""

from __future__ import annotations

import bisect
import io
import json
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from types import SimpleNamespace as Row

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.contrib.postgres.search import SearchVector
from django.core.files.base import ContentFile
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.text import slugify
from django.utils.translation import gettext

from brokering.models import ExchangeRequest, Offer, OfferStatus, RequestStatus
from collaboration.models import (
    Comment,
    Delivery,
    Notification,
    NotificationKind,
    NotificationPreference,
)
from collaboration.receivers import TRANSITIONS, _usd
from collaboration.services import DECISIONS as COMMENT_DECISIONS
from collaboration.services import EXCERPT
from documents.files import CSV, PDF, PNG, TEXT, safe_filename
from documents.models import Document, DocumentCategory
from documents.storage import document_storage
from grants.models import (
    CapacityOutcome,
    Disbursement,
    Exchange,
    ExchangeStatus,
    Grant,
    GrantHistory,
    GrantPartnerRole,
    GrantStatus,
    Instrument,
    PartnerRole,
    ReferenceCounter,
    Reminder,
    first_move_dates,
    report_dates,
)
from grants.reminders import reminders_for
from grants.selectors import fund_ledger_from_records, windows_ledger_from_records
from partners.models import (
    MAX_AMOUNT,
    AlertKind,
    Contribution,
    Country,
    Fund,
    FundAlert,
    Partner,
    PartnerKind,
    PartnerMembership,
    Receipt,
    Sector,
    Window,
    WindowApprover,
    WindowKind,
    WindowMovement,
    WindowMovementKind,
    WindowStatus,
)
from partners.roles import Role
from results.markdown import render_markdown
from results.models import (
    OUTCOME_FIELDS,
    CompletionReport,
    ConcreteResult,
    ConcreteResultKind,
    EvidenceLevel,
    ExPostCheck,
    FollowUpKind,
    FollowUpNeed,
    FollowUpStatus,
    Lesson,
    LessonReview,
    Rating,
    ResultsStory,
)
from results.services import _ex_post_checks
from seetf.common.models import explicit_timestamps
from seetf.common.money import CENT

# The portfolio's "today": dates are drawn relative to it, never to the clock.
DEFAULT_AS_OF = date(2026, 6, 1)
BATCH = 2000
# Rows per COPY (or executemany) of _Writer.write.
CHUNK = 50000
S = GrantStatus

# How a mature fund's grants are spread over the workflow (weights, not shares).
STATUS_WEIGHTS = {
    S.CLOSED: 52,
    S.COMPLETED: 8,
    S.APPROVED: 14,
    S.CANCELLED: 3,
    S.REJECTED: 9,
    S.RETURNED: 1,
    S.UNDER_REVIEW: 2,
    S.SUBMITTED: 3,
    S.DRAFT: 5,
}
APPROVED_LINE = {S.APPROVED, S.COMPLETED, S.CLOSED, S.CANCELLED}
SUBMITTED_LINE = APPROVED_LINE | {S.SUBMITTED, S.UNDER_REVIEW, S.RETURNED, S.REJECTED}
# Days before as_of a grant in each status was created (a range).
CREATED_DAYS_AGO = {
    S.DRAFT: (0, 180),
    S.SUBMITTED: (12, 90),
    S.UNDER_REVIEW: (20, 120),
    S.RETURNED: (25, 200),
    S.REJECTED: (60, 4000),
    S.APPROVED: (80, 520),
    S.CANCELLED: (250, 4000),
    S.COMPLETED: (420, 1300),
    S.CLOSED: (700, 4300),
}

# (code, currency, USD per unit, weight) of the fund's partners, by kind.
PARTNERS = {
    PartnerKind.TRADITIONAL_DONOR: [
        ("DNK", "DKK", "0.1460", 6),
        ("NOR", "NOK", "0.0940", 6),
        ("GBR", "GBP", "1.2700", 9),
        ("NLD", "EUR", "1.0900", 7),
        ("ESP", "EUR", "1.0900", 5),
        ("DEU", "EUR", "1.0900", 8),
        ("JPN", "JPY", "0.0067", 6),
        ("AUS", "AUD", "0.6600", 3),
        ("CAN", "CAD", "0.7300", 3),
        ("SWE", "SEK", "0.0950", 4),
        ("CHE", "CHF", "1.1200", 3),
        ("FIN", "EUR", "1.0900", 2),
        ("USA", "USD", "1.0000", 5),
    ],
    PartnerKind.NEW_DEVELOPMENT_PARTNER: [
        ("CHN", "CNY", "0.1400", 5),
        ("IND", "INR", "0.0120", 3),
        ("BRA", "BRL", "0.2000", 3),
        ("MEX", "MXN", "0.0580", 2),
        ("RUS", "RUB", "0.0110", 1),
        ("ZAF", "ZAR", "0.0540", 1),
        ("COL", "USD", "1.0000", 1),
    ],
    PartnerKind.MULTILATERAL: [("MDTF-IBRD", "USD", "1.0000", 4)],
    PartnerKind.PRIVATE: [("SSLF", "USD", "1.0000", 1)],
}
NON_COUNTRY_NAMES = {
    "MDTF-IBRD": "IBRD Knowledge Window (portfolio)",
    "SSLF": "South-South Learning Foundation (portfolio)",
}
# A pledge stays well inside the API's bound of a billion units of its currency.
MAX_PLEDGE_USD = Decimal("25000000")
MAX_PLEDGE_UNITS = Decimal("800000000")

# (topic, DAC purpose code): what the exchanges are about.
TOPICS = [
    ("conditional cash transfers", "16010"),
    ("social registries", "16011"),
    ("water utility reform", "14020"),
    ("rural water supply", "14030"),
    ("public financial management", "15111"),
    ("national audit", "15118"),
    ("decentralisation", "15112"),
    ("education policy", "11110"),
    ("vocational training", "11330"),
    ("primary health care", "12220"),
    ("nutrition programmes", "12240"),
    ("disease surveillance", "12250"),
    ("disaster risk management", "43060"),
    ("urban development", "43030"),
    ("road maintenance", "21020"),
    ("public transport", "21012"),
    ("e-government", "22040"),
    ("solar energy", "23230"),
    ("agricultural extension", "31120"),
    ("irrigation", "31140"),
    ("livestock services", "31163"),
    ("trade facilitation", "33120"),
    ("SME development", "32130"),
    ("employment programmes", "16020"),
    ("food security", "43071"),
    ("forest management", "31220"),
]
INSTRUMENT_WEIGHTS = {
    Instrument.STUDY_TOUR: 35,
    Instrument.VIDEOCONFERENCE: 20,
    Instrument.PEER_CONSULTATION: 15,
    Instrument.WORKSHOP: 15,
    Instrument.EXPERT_VISIT: 10,
    Instrument.CONFERENCE: 5,
}
# How often each capacity outcome is achieved (Annex D's proportions, roughly).
OUTCOME_ODDS = {
    CapacityOutcome.RAISED_AWARENESS: 0.7,
    CapacityOutcome.ENHANCED_KNOWLEDGE_AND_SKILLS: 0.75,
    CapacityOutcome.IMPROVED_CONSENSUS_AND_TEAMWORK: 0.25,
    CapacityOutcome.STRENGTHENED_COALITIONS: 0.1,
    CapacityOutcome.ENHANCED_NETWORKS: 0.4,
    CapacityOutcome.INCREASED_IMPLEMENTATION_KNOWHOW: 0.85,
}
RATING_WEIGHTS = {
    Rating.HS: 10,
    Rating.S: 45,
    Rating.MS: 25,
    Rating.MU: 12,
    Rating.U: 6,
    Rating.HU: 2,
}
LESSONS = [
    "Officials learned most when they met the counterparts who run the programme day to day.",
    "A short videoconference before the study tour focused the visit on the real questions.",
    "Bringing the finance ministry along made the reform plan fundable.",
    "The delegation should include the people who will implement, not only senior officials.",
    "Translating the host's manuals before the visit saved days of explanation.",
    "Peer consultations worked better than lectures: practitioners asked practitioners.",
    "Follow-up funding was missing, so the pilot stalled after the exchange.",
    "Site visits to rural offices showed the delivery problems that headquarters did not see.",
    "A joint action plan signed at the end of the visit kept both sides committed.",
    "Women made up a third of the delegation, which widened the range of questions asked.",
    "The host's open-source software could be reused, which cut the cost of the reform.",
    "Expert visits after the study tour helped adapt the model to local institutions.",
    "Parliamentarians who joined the tour later championed the law that followed.",
    "Exchanges timed with the budget cycle had a better chance of being financed.",
    "Regional workshops spread the lessons to neighbouring countries at little cost.",
    "The monitoring indicators agreed during the exchange were still used two years later.",
]
ACTIONS_OF_RESULT = {
    ConcreteResultKind.ACTION_PLAN: "A national action plan on {topic} adopted by the ministry.",
    ConcreteResultKind.PILOT_PROJECT: "A pilot of {topic} in two districts.",
    ConcreteResultKind.POLICY_FRAMEWORK: "A draft policy framework for {topic}.",
    ConcreteResultKind.INSTITUTIONAL_REFORM: "A reorganised unit in charge of {topic}.",
    ConcreteResultKind.INVESTMENT: "A loan for {topic} prepared with a development bank.",
    ConcreteResultKind.NETWORK: "A network of {topic} practitioners across the region.",
    ConcreteResultKind.OTHER: "Training material on {topic} translated and distributed.",
}


# --- After the exchange, documents, the discussion ---------------------------------------

NEED_DESCRIPTIONS = {
    FollowUpKind.FURTHER_EXCHANGE: "A second exchange on {topic}, for the provincial teams.",
    FollowUpKind.TECHNICAL_ASSISTANCE: "Six months of an expert's help to set up {topic}.",
    FollowUpKind.INVESTMENT: "An investment loan to scale up {topic} nationwide.",
    FollowUpKind.OTHER: "Translation and printing of the {topic} manuals.",
}
FINANCIERS = [
    "World Bank IDA credit",
    "African Development Bank",
    "Asian Development Bank",
    "Inter-American Development Bank",
    "The national budget",
    "GIZ",
    "JICA",
    "UNDP country office",
    "A bilateral donor's programme",
]
DROPPED_REASONS = [
    "The ministry's priorities changed after the elections.",
    "No financier was found within two years.",
    "The pilot was absorbed into a larger programme.",
    "The counterpart unit was dissolved in a reorganisation.",
]
# The content type documents.files.sniff tells each generated file's bytes as.
DOCUMENT_TYPES = {"pdf": PDF, "png": PNG, "txt": TEXT, "csv": CSV}
# A 1x1 PNG (a photo, as small as one gets).
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e6a1d5"
    "d50000000049454e44ae426082"
)
LEADER_COMMENTS = [
    "The agenda of the visit on {topic} is attached; comments welcome before Friday.",
    "The host ministry confirmed the dates. Visas for the delegation from {country} "
    "are being processed.",
    "Participants' list updated: the finance ministry joins the delegation.",
    "The back-to-office report is drafted; I will upload it with the completion report.",
    "Could the **second tranche** be released before the visit? Travel is booked.",
    "Notes from the preparatory call:\n\n- dates agreed\n- interpretation needed\n"
    "- site visits to two districts",
]
MANAGER_COMMENTS = [
    "Thanks. Please check the travel budget against the fund's ceilings.",
    "Could you add the recipient's endorsement letter before the review?",
    "The review panel asked how {country} will finance the follow-up.",
    "Approved budget lines are in the grant agreement; per diems follow the UN rates.",
    "Please remember the completion report is due three months after the last exchange.",
    "Good progress on {topic}. A results story would be welcome once the report is in.",
]
# The notifications of the last year are kept (older ones are not generated).
NOTIFICATION_DAYS = 365
# The workflow actions whose receivers tell someone (collaboration.receivers).
NOTIFIED_ACTIONS = frozenset(TRANSITIONS)
# What the receivers write (collaboration/receivers.py, collaboration/services.py), in
# the receivers' language: the same messages, so the same catalogue entries.
TEXTS = {
    "submit": "%(leader)s submitted the proposal %(grant)s, asking for %(amount)s USD.",
    "resubmit": "%(leader)s resubmitted the proposal %(grant)s, asking for %(amount)s USD.",
    "return": "%(grant)s was returned for revision by %(user)s.",
    "reject": "%(grant)s was rejected by %(user)s.",
    "approve": "%(grant)s was approved for %(amount)s USD by %(user)s.",
    "complete": (
        "%(user)s submitted the completion report of %(grant)s; it waits for a fund "
        "manager to accept it."
    ),
    "accept-report": "The completion report of %(grant)s was accepted by %(user)s.",
    "said": ' Their comment: "%(comment)s"',
    "disbursement": "%(amount)s USD was disbursed from %(grant)s on %(day)s.",
    "mention": "%(author)s mentioned you on %(grant)s: %(excerpt)s",
    "comment": "%(author)s commented on %(grant)s: %(excerpt)s",
}


def _pdf_text(value: str) -> bytes:
    text = value.encode("ascii", "replace")
    return text.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _pdf(title: str, line: str) -> bytes:
    """A one-page PDF that says ``title`` and ``line``."""
    stream = (
        b"BT /F1 14 Tf 72 770 Td (" + _pdf_text(title) + b") Tj "
        b"0 -24 Td /F1 10 Tf (" + _pdf_text(line) + b") Tj ET"
    )
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R"
        b"/Resources<</Font<</F1 5 0 R>>>>>>",
        b"<</Length %d>>stream\n" % len(stream) + stream + b"\nendstream",
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj" % number + body + b"endobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _document_file(category: str, grant, plan) -> tuple[str, str, bytes]:
    """(title, extension, bytes) of a generated document of ``category``."""
    C = DocumentCategory
    name = plan.recipients[0].name
    label = C(category).label
    title = f"{label}: {plan.topic} ({name})"
    if category == C.PHOTO:
        return f"Photo of the {plan.topic} visit", "png", TINY_PNG
    if category == C.PARTICIPANT_LIST:
        rows = ["name,institution,country"] + [
            f"Participant {k},Ministry of {plan.topic},{name}" for k in range(1, 9)
        ]
        return title, "csv", ("\n".join(rows) + "\n").encode()
    if category in (C.AGENDA, C.OTHER):
        text = f"{title}\n\nDay 1: introductions and the host's programme.\n"
        text += f"Day 2: site visits.\nDay 3: an action plan for {name}.\n"
        return title, "txt", text.encode()
    return title, "pdf", _pdf(title, grant.title)


@dataclass
class PortfolioSummary:
    grants: int = 0
    by_status: dict = field(default_factory=dict)
    partners: int = 0
    contributions: int = 0
    receipts: int = 0
    exchanges: int = 0
    disbursements: int = 0
    history: int = 0
    reports: int = 0
    stories: int = 0
    reminders: int = 0
    alerts: int = 0
    users: int = 0
    windows: int = 0
    window_grants: int = 0
    offers: int = 0
    requests: int = 0
    follow_up_needs: int = 0
    follow_up_financed: int = 0
    ex_post_checks: int = 0
    ex_post_filed: int = 0
    lessons: int = 0
    documents: int = 0
    document_bytes: int = 0
    comments: int = 0
    mentions: int = 0
    notifications: int = 0
    notifications_unread: int = 0
    notifications_pending: int = 0
    notification_preferences: int = 0
    ledger: dict = field(default_factory=dict)


class PortfolioError(Exception):
    """The database already holds a portfolio, or the one generated does not add up."""


def _money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _at(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, time(8 + rng.randrange(10), rng.randrange(60)), tzinfo=UTC)


def _weighted(rng: random.Random, weights: dict):
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _requested(rng: random.Random) -> Decimal:
    """Around USD 100,000: a log-normal spread, 20,000 to 400,000, in hundreds."""
    value = min(400000, max(20000, rng.lognormvariate(math.log(100000), 0.35)))
    return Decimal(round(value / 100) * 100).quantize(CENT)


def _split(total: Decimal, parts: int, rng: random.Random) -> list[Decimal]:
    """``total`` in ``parts`` positive amounts (cents) that add up to it exactly."""
    if parts <= 1 or total < Decimal("1.00") * parts:
        return [total]
    weights = [rng.uniform(0.5, 1.5) for _ in range(parts)]
    scale = sum(weights)
    amounts = [_money(total * Decimal(w / scale)) for w in weights[:-1]]
    amounts.append(total - sum(amounts))
    return amounts


# --- Writing rows in bulk ------------------------------------------------------------------


class _Writer:
    """Inserts rows given as tuples or ``Row`` objects: ``COPY ... FROM STDIN`` on
    PostgreSQL (the fastest way in), ``executemany`` elsewhere. Values are converted
    here by type, not field by field through the ORM, which at a few hundred thousand
    rows costs more than the database's own work."""

    def __init__(self):
        self.postgres = connection.vendor == "postgresql"

    def next_id(self, model) -> int:
        """The first free primary key: grants, exchanges and reports get theirs before
        they are written, so their children can refer to them without a round trip."""
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {model._meta.db_table}")
            return cursor.fetchone()[0] + 1

    def write(self, model, rows, *, columns=None, with_id=True):
        if not rows:
            return
        if len(rows) > CHUNK:
            # A few hundred thousand rows at a time: the text of one COPY stays small.
            for start in range(0, len(rows), CHUNK):
                self.write(model, rows[start : start + CHUNK], columns=columns, with_id=with_id)
            return
        if columns is None:
            columns = [
                f.attname for f in model._meta.concrete_fields if with_id or not f.primary_key
            ]
            rows = [tuple(getattr(row, name) for name in columns) for row in rows]
        table = connection.ops.quote_name(model._meta.db_table)
        names = ", ".join(connection.ops.quote_name(c) for c in columns)
        with connection.cursor() as cursor:
            if self.postgres:
                buffer = io.StringIO()
                for row in rows:
                    buffer.write("\t".join(map(_copy_text, row)))
                    buffer.write("\n")
                buffer.seek(0)
                cursor.copy_expert(f"COPY {table} ({names}) FROM STDIN", buffer)
            else:
                marks = ", ".join(["%s"] * len(columns))
                cursor.executemany(
                    f"INSERT INTO {table} ({names}) VALUES ({marks})",
                    [tuple(map(_sql_value, row)) for row in rows],
                )

    def reset_sequences(self, models):
        """After explicit ids: the sequences go on after the largest."""
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(sql)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value) -> str:
    """A value in COPY's text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, (list, dict)):
        value = json.dumps(value)
    elif isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value).translate(_COPY_ESCAPES)


def _sql_value(value):
    """A value as the SQLite backend stores it."""
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return value


# --- The plan of one grant (built in memory, then written in bulk) ------------------------


@dataclass
class GrantPlan:
    grant: Row  # the Grant's column values, by attname
    topic: str
    recipients: list
    providers: list
    partner_ids: list
    events: list  # (at, actor, action, from_status, to_status, comment)
    exchanges: list
    disbursements: list
    report: Row | None = None
    results: list = field(default_factory=list)


class _Generator:
    def __init__(self, *, grants: int, seed: int, as_of: date, windows: bool = True):
        self.n = grants
        self.with_windows = windows
        self.seed = seed
        self.as_of = as_of
        self.rng = random.Random(seed)
        self.summary = PortfolioSummary()
        self.window_approvers: dict[int, list] = {}

    # --- reference data and people ---------------------------------------------------

    def load_reference(self):
        self.countries = {c.code: c for c in Country.objects.order_by("code")}
        self.sectors = {s.code: s for s in Sector.objects.order_by("code")}
        fallback = next(iter(self.sectors))
        self.topics = [(t, code if code in self.sectors else fallback) for t, code in TOPICS]
        developing = defaultdict(list)
        providers = []
        for c in self.countries.values():
            if c.region == "OTH":
                continue
            if c.income_group in ("low", "lower_middle", "upper_middle"):
                developing[c.region].append(c)
            if c.income_group in ("upper_middle", "lower_middle"):
                providers.append(c)
        self.recipients_by_region = {r: cs for r, cs in sorted(developing.items()) if cs}
        self.regions = list(self.recipients_by_region)
        self.provider_pool = providers

    def make_people(self):
        users = get_user_model()
        password = make_password(None)
        tag = f"pf{self.seed}"
        n_leaders = max(3, self.n // 40)
        n_managers = max(2, min(8, self.n // 2500 + 2))
        made = []
        leaders = [
            users(
                username=f"{tag}-ttl-{i:04d}",
                email=f"{tag}-ttl-{i:04d}@portfolio.example.org",
                first_name="Leader",
                last_name=f"{i:04d}",
                password=password,
            )
            for i in range(1, n_leaders + 1)
        ]
        managers = [
            users(
                username=f"{tag}-fm-{i:02d}",
                email=f"{tag}-fm-{i:02d}@portfolio.example.org",
                first_name="Manager",
                last_name=f"{i:02d}",
                password=password,
            )
            for i in range(1, n_managers + 1)
        ]
        donors = [
            users(
                username=f"{tag}-donor-{p.code.lower()}",
                email=f"{tag}-donor-{p.code.lower()}@portfolio.example.org",
                password=password,
            )
            for p in self.partners
            if p.country_id
        ]
        made = users.objects.bulk_create(leaders + managers + donors, batch_size=BATCH)
        self.leaders = made[:n_leaders]
        self.managers = made[n_leaders : n_leaders + n_managers]
        donor_users = made[n_leaders + n_managers :]
        groups = {g.name: g.pk for g in Group.objects.filter(name__in=Role.values)}
        through = users.groups.through
        through.objects.bulk_create(
            [through(user_id=u.pk, group_id=groups[Role.TASK_TEAM_LEADER]) for u in self.leaders]
            + [through(user_id=u.pk, group_id=groups[Role.FUND_MANAGER]) for u in self.managers]
            + [through(user_id=u.pk, group_id=groups[Role.DONOR]) for u in donor_users],
            batch_size=BATCH,
        )
        country_partners = [p for p in self.partners if p.country_id]
        PartnerMembership.objects.bulk_create(
            PartnerMembership(user_id=u.pk, partner_id=p.pk)
            for u, p in zip(donor_users, country_partners, strict=True)
        )
        self.summary.users = len(made)

    def make_partners(self):
        rows = []
        self.partner_terms = {}
        for kind, entries in PARTNERS.items():
            for code, currency, rate, weight in entries:
                country = self.countries.get(code)
                name = country.name if country else NON_COUNTRY_NAMES[code]
                rows.append((code, name, kind, country, currency, Decimal(rate), weight))
        joined = self.as_of - timedelta(days=4400)
        self.partners = []
        with explicit_timestamps(Partner):
            for code, name, kind, country, currency, rate, weight in rows:
                partner = Partner.objects.filter(code=code).first()
                if partner is None:
                    stamp = _at(joined, self.rng)
                    partner = Partner.objects.create(
                        code=code,
                        name=name,
                        kind=kind,
                        country=country,
                        joined_on=joined + timedelta(days=self.rng.randrange(0, 900)),
                        created_at=stamp,
                        updated_at=stamp,
                    )
                self.partners.append(partner)
                self.partner_terms[partner.pk] = (currency, rate, weight)
        self.traditional = [p for p in self.partners if p.kind == PartnerKind.TRADITIONAL_DONOR]
        self.summary.partners = len(self.partners)

    # --- grants ----------------------------------------------------------------------

    def statuses(self) -> list[str]:
        """Every status at least once (the first nine grants), then by weight."""
        first = list(STATUS_WEIGHTS)
        rest = [_weighted(self.rng, STATUS_WEIGHTS) for _ in range(max(0, self.n - len(first)))]
        return (first + rest)[: self.n]

    def plan_grant(self, index: int, status: str) -> GrantPlan:
        rng, as_of = self.rng, self.as_of
        leader = self.leaders[index % len(self.leaders)]
        region = rng.choice(self.regions)
        recipients = rng.sample(
            self.recipients_by_region[region],
            k=min(len(self.recipients_by_region[region]), rng.choice((1, 1, 1, 2, 3))),
        )
        codes = {c.code for c in recipients}
        providers = [c for c in rng.sample(self.provider_pool, k=4) if c.code not in codes]
        providers = providers[: rng.choice((1, 1, 2))]
        partner_ids = [rng.choice(self.traditional).pk] if rng.random() < 0.25 else []
        topic, sector_code = rng.choice(self.topics)
        requested = _requested(rng)
        lo, hi = CREATED_DAYS_AGO[status]
        created_day = as_of - timedelta(days=rng.randint(lo, hi))
        created = _at(created_day, rng)
        events = [(created, leader, "create", "", S.DRAFT, "")]
        state = S.DRAFT
        manager = rng.choice(self.managers)
        submitted = decided = None
        approved = None
        released = Decimal("0.00")
        disbursed = Decimal("0.00")

        def move(at, actor, action, to, comment=""):
            nonlocal state
            events.append((at, actor, action, state, to, comment))
            state = to

        def later(at: datetime, lo: int, hi: int, cap: date | None = None) -> datetime:
            day = at.date() + timedelta(days=rng.randint(lo, hi))
            if cap is not None and day > cap:
                day = max(at.date(), cap)
            stamp = _at(day, rng)
            return stamp if stamp > at else at + timedelta(minutes=1)

        yesterday = as_of - timedelta(days=1)
        if status in SUBMITTED_LINE:
            submitted = later(created, 1, 10, cap=yesterday)
            move(submitted, leader, "submit", S.SUBMITTED)
            if status == S.RETURNED:
                decided = later(submitted, 3, 20, cap=yesterday)
                move(decided, manager, "return", S.RETURNED, "Please detail the exchange plan.")
            elif status != S.SUBMITTED:
                review = later(submitted, 1, 7, cap=yesterday)
                move(review, manager, "start-review", S.UNDER_REVIEW)
                if status == S.REJECTED:
                    decided = later(review, 5, 30, cap=yesterday)
                    move(decided, manager, "reject", S.REJECTED, "Outside the fund's scope.")
                elif status in APPROVED_LINE:
                    cap = as_of - timedelta(days=30) if status == S.APPROVED else yesterday
                    decided = later(review, 5, 30, cap=cap)
                    approved = requested
                    if rng.random() < 0.3:
                        approved = _money(requested * Decimal(rng.uniform(0.8, 0.99)) / 100) * 100
                        approved = max(Decimal("1000.00"), approved)
                    move(decided, manager, "approve", S.APPROVED)

        # The planned period: after the decision (or the proposal), a few months long.
        anchor = (decided or created).date()
        planned_start = anchor + timedelta(days=rng.randint(15, 60))
        planned_end = planned_start + timedelta(days=rng.randint(30, 330))
        if status == S.APPROVED:
            # Active grants: most end in the coming year, some ended a while ago (their
            # reports are overdue), a few are due within the reminder's fortnight.
            planned_end = max(
                planned_start + timedelta(days=20), as_of + timedelta(days=rng.randint(-130, 400))
            )
        due = planned_end + timedelta(days=settings.COMPLETION_REPORT_DUE_DAYS)

        report = None
        results = []
        if status in (S.COMPLETED, S.CLOSED) or (status == S.APPROVED and rng.random() < 0.2):
            report, results = self.plan_report(topic, requested)
        if status in (S.COMPLETED, S.CLOSED):
            report_day = planned_end + timedelta(days=rng.randint(0, 90))
            submitted_report = _at(min(report_day, yesterday), rng)
            submitted_report = max(submitted_report, events[-1][0] + timedelta(hours=1))
            report.submitted_at = submitted_report
            move(submitted_report, leader, "complete", S.COMPLETED)
            if status == S.CLOSED or rng.random() < 0.4:
                accepted = later(submitted_report, 3, 40, cap=yesterday)
                report.accepted_at = accepted
                report.accepted_by_id = manager.pk
                events.append((accepted, manager, "accept-report", S.COMPLETED, S.COMPLETED, ""))
            if status == S.CLOSED:
                closed = later(report.accepted_at, 1, 30, cap=yesterday)
                disbursed = _money(approved * Decimal(rng.uniform(0.85, 1.0)))
                released = approved - disbursed
                move(closed, manager, "close", S.CLOSED)
            else:
                disbursed = _money(approved * Decimal(rng.uniform(0.7, 1.0)))
        elif status == S.APPROVED:
            started = planned_start <= as_of
            disbursed = _money(approved * Decimal(rng.uniform(0.3, 0.9))) if started else CENT * 0
        elif status == S.CANCELLED:
            cancelled = later(decided, 30, 200, cap=yesterday)
            disbursed = _money(approved * Decimal(rng.uniform(0, 0.5)))
            released = approved - disbursed
            move(cancelled, manager, "cancel", S.CANCELLED, "The recipient ministry withdrew.")
        if report is not None:
            stamp = report.submitted_at or later(decided, 30, 200, cap=yesterday)
            report.created_at = report.updated_at = stamp
            if report.accepted_at:
                report.updated_at = report.accepted_at

        host = providers[0] if providers else recipients[0]
        title = f"{topic[0].upper()}{topic[1:]}: {recipients[0].name} learns from {host.name}"
        outcomes = sorted(rng.sample(list(CapacityOutcome.values), k=rng.randint(1, 3)))
        grant = Row(
            id=self.next_ids["grant"] + index,
            reference=None,
            title=title[:200],
            summary=(
                f"Officials from {', '.join(c.name for c in recipients)} learn from "
                f"{host.name}'s experience of {topic}, to prepare their own reform."
            ),
            task_team_leader_id=leader.pk,
            sector_id=sector_code,
            region=region,
            requested_usd=requested,
            approved_usd=approved,
            disbursed_usd=disbursed,
            released_usd=released,
            status=status,
            development_goal=f"Better {topic} services for the people of {recipients[0].name}.",
            targeted_outcomes=outcomes,
            planned_start=planned_start,
            planned_end=planned_end,
            completion_report_due=due,
            submitted_at=submitted,
            decided_at=decided,
            created_at=created,
            updated_at=events[-1][0],
            # A triangular grant (a donor facilitating) is endorsed before it is submitted.
            recipient_endorsed_on=created.date() if partner_ids else None,
            # Follow-ons are not generated (results' needs and checks: tests/perf).
            parent_id=None,
            relation="",
            # The first submission's and approval's dates its history gives, as the
            # services keep them.
            **first_move_dates((to, at) for at, _actor, _action, _from, to, _c in events),
            # And what it keeps of its report, as the workflow's report effects set it.
            **report_dates(
                report.submitted_at if report else None, report.accepted_at if report else None
            ),
        )
        plan = GrantPlan(
            grant=grant,
            topic=topic,
            recipients=recipients,
            providers=providers,
            partner_ids=partner_ids,
            events=events,
            exchanges=self.plan_exchanges(
                status, topic, recipients, providers, planned_start, planned_end, created
            ),
            disbursements=self.plan_disbursements(disbursed, decided, as_of),
            report=report,
            results=results,
        )
        return plan

    def plan_exchanges(self, status, topic, recipients, providers, start, end, created):
        rng, as_of = self.rng, self.as_of
        exchanges = []
        span = max(1, (end - start).days)
        host = providers[0] if providers else recipients[0]
        for k in range(rng.randint(1, 5)):
            instrument = _weighted(rng, INSTRUMENT_WEIGHTS)
            day = start + timedelta(days=rng.randrange(span))
            length = 0 if instrument == Instrument.VIDEOCONFERENCE else rng.randint(2, 9)
            if status in (S.COMPLETED, S.CLOSED):
                state = ExchangeStatus.CANCELLED if rng.random() < 0.06 else ExchangeStatus.HELD
            elif status == S.APPROVED:
                state = (
                    ExchangeStatus.HELD
                    if day + timedelta(days=length) < as_of
                    else (ExchangeStatus.PLANNED)
                )
            elif status in (S.CANCELLED, S.REJECTED):
                state = ExchangeStatus.CANCELLED
            else:
                state = ExchangeStatus.PLANNED
            participants = rng.randint(4, 60)
            label = Instrument(instrument).label
            exchanges.append(
                Row(
                    instrument=instrument,
                    title=f"{label} on {topic} ({k + 1})",
                    start_date=day,
                    end_date=day + timedelta(days=length),
                    location="" if instrument == Instrument.VIDEOCONFERENCE else host.name,
                    participants=participants,
                    women_participants=rng.randint(0, participants),
                    status=state,
                    created_at=created,
                    updated_at=created,
                )
            )
        return exchanges

    def plan_disbursements(self, disbursed: Decimal, decided, as_of):
        if not disbursed:
            return []
        rng = self.rng
        parts = _split(disbursed, rng.randint(1, 3), rng)
        first = decided.date() + timedelta(days=rng.randint(10, 40))
        out = []
        for i, amount in enumerate(parts):
            day = min(first + timedelta(days=60 * i), as_of - timedelta(days=1))
            out.append(
                Row(
                    amount_usd=amount,
                    disbursed_on=day,
                    purpose=("Advance", "Second tranche", "Final tranche")[min(i, 2)],
                    created_at=_at(day, rng),
                    reverses_id=None,  # money paid out, not a reversing entry
                    reason="",
                )
            )
        return out

    def plan_report(self, topic, requested):
        rng = self.rng
        achieved = {o: rng.random() < odds for o, odds in OUTCOME_ODDS.items()}
        follow_up = rng.random() < 0.25
        report = Row(
            submitted_at=None,
            accepted_at=None,
            accepted_by_id=None,
            participants=rng.randint(8, 120),
            rating=_weighted(rng, RATING_WEIGHTS),
            lessons=" ".join(rng.sample(LESSONS, k=rng.randint(1, 3))),
            follow_up_needed=follow_up,
            follow_up_description=(
                f"Finance a pilot of {topic} in a second province." if follow_up else ""
            ),
            **{name: achieved[name] for name in OUTCOME_FIELDS},
        )
        kinds = rng.sample(list(ACTIONS_OF_RESULT), k=rng.randint(1, 3))
        results = [(kind, ACTIONS_OF_RESULT[kind].format(topic=topic)) for kind in kinds]
        return report, results

    # --- writing -------------------------------------------------------------------------

    def write_grants(self, plans: list[GrantPlan]):
        # References: SEETF-YYYY-NNNN in order of first submission within each year.
        submitted = sorted(
            (p for p in plans if p.grant.submitted_at),
            key=lambda p: (p.grant.submitted_at, p.events[0][0]),
        )
        counters: dict[int, int] = defaultdict(int)
        for p in submitted:
            year = p.grant.submitted_at.year
            counters[year] += 1
            p.grant.reference = f"SEETF-{year}-{counters[year]:04d}"
        for year, last in counters.items():
            counter, _ = ReferenceCounter.objects.get_or_create(year=year)
            if counter.last_number < last:
                counter.last_number = last
                counter.save(update_fields=["last_number"])

        write = self.writer.write
        write(Grant, [p.grant for p in plans])
        for through_name, attr in (
            ("recipient_countries", "recipients"),
            ("provider_countries", "providers"),
        ):
            write(
                getattr(Grant, through_name).through,
                [(p.grant.id, c.code) for p in plans for c in getattr(p, attr)],
                columns=["grant_id", "country_id"],
            )
        write(
            Grant.facilitating_partners.through,
            [(p.grant.id, pk) for p in plans for pk in p.partner_ids],
            columns=["grant_id", "partner_id"],
        )
        # The roles the facilitating partners are derived from.
        write(
            GrantPartnerRole,
            [(p.grant.id, pk, PartnerRole.FACILITATOR) for p in plans for pk in p.partner_ids],
            columns=["grant_id", "partner_id", "role"],
        )
        write(
            GrantHistory,
            [
                (p.grant.id, at, actor.pk, action, from_status, to_status, comment)
                for p in plans
                for at, actor, action, from_status, to_status, comment in p.events
            ],
            columns=["grant_id", "at", "actor_id", "action", "from_status", "to_status", "comment"],
        )
        exchanges = []
        next_exchange = self.next_ids["exchange"]
        for p in plans:
            for e in p.exchanges:
                e.id, e.grant_id = next_exchange, p.grant.id
                next_exchange += 1
                exchanges.append((e, p))
        write(Exchange, [e for e, _ in exchanges])
        for through_name, attr in (
            ("provider_countries", "providers"),
            ("recipient_countries", "recipients"),
        ):
            write(
                getattr(Exchange, through_name).through,
                [(e.id, getattr(p, attr)[0].code) for e, p in exchanges if getattr(p, attr)],
                columns=["exchange_id", "country_id"],
            )
        disbursements = []
        for p in plans:
            for d in p.disbursements:
                d.grant_id = p.grant.id
                d.recorded_by_id = p.events[-1][1].pk
                disbursements.append(d)
        write(Disbursement, disbursements, with_id=False)
        reports = []
        next_report = self.next_ids["report"]
        for p in plans:
            if p.report is not None:
                p.report.id, p.report.grant_id = next_report, p.grant.id
                next_report += 1
                reports.append(p)
        write(CompletionReport, [p.report for p in reports])
        write(
            ConcreteResult,
            [(p.report.id, kind, description) for p in reports for kind, description in p.results],
            columns=["report_id", "kind", "description"],
        )
        self.writer.reset_sequences([Grant, Exchange, CompletionReport])
        self.summary.exchanges = len(exchanges)
        self.summary.disbursements = len(disbursements)
        self.summary.reports = len(reports)
        self.summary.history = sum(len(p.events) for p in plans)

    def write_money_in(self, committed: Decimal):
        """Pledges and receipts that cover what the grants committed, with a little
        left available, spread over the partners by weight and paid in their currency."""
        rng = self.rng
        headroom = max(committed * Decimal("0.025"), Decimal("400000"))
        target = _money(committed + headroom)
        weights = {p.pk: self.partner_terms[p.pk][2] for p in self.partners}
        total_weight = sum(weights.values())
        contributions = []
        first_year = self.as_of.year - 12
        for partner in self.partners:
            currency, rate, _ = self.partner_terms[partner.pk]
            share = _money(target * weights[partner.pk] / total_weight)
            cap = min(MAX_PLEDGE_USD, MAX_PLEDGE_UNITS * rate)
            # _split's parts reach 1.5 times their average: so many that each stays
            # within the cap (the services' bound on a pledge in its currency).
            count = max(1, math.ceil(share * Decimal("1.5") / cap))
            slices = _split(share, count, rng)
            for i, received_usd in enumerate(slices):
                last = i == count - 1
                # The last pledge is partly paid in so far; the earlier ones fully.
                fraction = Decimal(str(round(rng.uniform(0.55, 0.9), 2))) if last else 1
                # The pledge itself stays within the API's bound in its currency (what
                # partners.services accepts, and the importer with it).
                if last and currency != "USD":
                    fraction = min(
                        Decimal(1),
                        max(fraction, received_usd / (MAX_AMOUNT * Decimal("0.999") * rate)),
                    )
                pledged_usd = _money(received_usd / fraction)
                if currency == "USD":
                    pledged_amount = pledged_usd
                    received_amount = received_usd if not last else received_usd
                else:
                    pledged_amount = _money(pledged_usd / rate)
                    received_amount = pledged_amount if not last else _money(received_usd / rate)
                signed = date(
                    first_year + (12 * i) // count, 1 + rng.randrange(12), 1 + rng.randrange(28)
                )
                signed = min(signed, self.as_of - timedelta(days=30))
                stamp = _at(signed, rng)
                contribution = Contribution(
                    partner_id=partner.pk,
                    reference=f"PF{self.seed}-{partner.code}-{i + 1:02d}",
                    currency=currency,
                    pledged_amount=pledged_amount,
                    pledged_usd=pledged_usd,
                    received_amount=received_amount,
                    signed_on=signed,
                    period_start=signed,
                    period_end=signed + timedelta(days=365 * 3),
                    created_at=stamp,
                    updated_at=stamp,
                )
                installments = _split(received_amount, rng.randint(1, 4), rng)
                usd_total = Decimal("0.00")
                rows = []
                for k, amount in enumerate(installments):
                    if currency == "USD":
                        usd = amount
                    elif k == len(installments) - 1:
                        usd = received_usd - usd_total if received_usd > usd_total else CENT
                    else:
                        usd = max(CENT, _money(amount * rate))
                    usd_total += usd
                    day = min(signed + timedelta(days=45 + 120 * k), self.as_of - timedelta(days=1))
                    rows.append(
                        Receipt(
                            amount=amount, usd_amount=usd, received_on=day, created_at=_at(day, rng)
                        )
                    )
                contribution.received_usd = usd_total
                contributions.append((contribution, rows))
        with explicit_timestamps(Contribution, Receipt):
            Contribution.objects.bulk_create([c for c, _ in contributions], batch_size=BATCH)
            all_receipts = []
            for c, rows in contributions:
                for r in rows:
                    r.contribution_id = c.pk
                    all_receipts.append(r)
            Receipt.objects.bulk_create(all_receipts, batch_size=BATCH)
        self.summary.contributions = len(contributions)
        self.summary.receipts = len(all_receipts)

    def write_stories(self, plans: list[GrantPlan]):
        rng = self.rng
        closed = [p for p in plans if p.grant.status == S.CLOSED and p.report is not None]
        count = min(len(closed), max(3, len(closed) // 30)) if closed else 0
        chosen = rng.sample(closed, k=count) if count else []
        chosen.sort(key=lambda p: p.report.accepted_at)
        stories = []
        author = self.managers[0]
        for i, p in enumerate(chosen):
            lessons = p.report.lessons
            body = (
                f"## What {p.recipients[0].name} wanted to learn\n\n"
                f"{p.grant.summary}\n\n"
                f"## What happened\n\n"
                f"{len(p.exchanges)} exchange(s) brought **{p.report.participants}** officials "
                f"together on {p.topic}.\n\n"
                f"- {p.results[0][1]}\n\n"
                f"## Lessons\n\n> {lessons}\n"
            )
            published = rng.random() < 0.85
            at = p.report.accepted_at + timedelta(days=rng.randint(10, 60))
            at = min(at, _at(self.as_of - timedelta(days=1), rng))
            title = f"{p.topic[0].upper()}{p.topic[1:]} in {p.recipients[0].name}"
            stories.append(
                (
                    ResultsStory(
                        grant_id=p.grant.id,
                        slug=f"{slugify(title)[:180]}-{self.seed}-{i + 1}",
                        title=title,
                        body=body,
                        body_html=render_markdown(body),
                        published=published,
                        published_at=at if published else None,
                        created_by_id=author.pk,
                        created_at=at,
                        updated_at=at,
                    ),
                    p,
                )
            )
        with explicit_timestamps(ResultsStory):
            ResultsStory.objects.bulk_create([s for s, _ in stories], batch_size=BATCH)
        for name, rows in (
            ("sectors", lambda s, p: [("sector_id", p.grant.sector_id)]),
            ("countries", lambda s, p: [("country_id", c.code) for c in p.recipients]),
            (
                "outcomes",
                lambda s, p: [("outcome_id", o) for o in OUTCOME_FIELDS if getattr(p.report, o)],
            ),
        ):
            through = getattr(ResultsStory, name).through
            through.objects.bulk_create(
                (
                    through(resultsstory_id=s.pk, **{key: value})
                    for s, p in stories
                    for key, value in rows(s, p)
                ),
                batch_size=BATCH,
            )
        if connection.vendor == "postgresql" and stories:
            ResultsStory.objects.filter(pk__in=[s.pk for s, _ in stories]).update(
                search_vector=SearchVector("title", weight="A", config="english")
                + SearchVector("body", weight="B", config="english")
            )
        self.summary.stories = len(stories)

    def write_reminders(self, plans: list[GrantPlan]):
        """The reminders the daily job sent before as_of (one run a day): the upcoming
        one, each weekly overdue one, the escalation. Today's are left to the job."""
        managers = [m for m in self.managers if m.email]
        users = {u.pk: u for u in self.leaders}
        rows = {}
        horizon = self.as_of - timedelta(days=1)
        for p in plans:
            if p.grant.status != S.APPROVED:
                continue
            g = Grant(
                id=p.grant.id,
                completion_report_due=p.grant.completion_report_due,
                task_team_leader=users[p.grant.task_team_leader_id],
            )
            due = g.completion_report_due
            days = [due - timedelta(days=settings.REMINDER_UPCOMING_DAYS)]
            day = due + timedelta(days=1)
            while day <= horizon:
                days.append(day)
                day += timedelta(days=7)
            days.append(due + timedelta(days=settings.REMINDER_ESCALATION_DAYS))
            for day in days:
                if day > horizon:
                    continue
                for r in reminders_for(g, day, managers):
                    key = (g.pk, r.kind, r.sequence, r.recipient)
                    if key not in rows:
                        sent = datetime.combine(day, time(6, 0), tzinfo=UTC)
                        r.created_at = sent
                        r.sent_at = sent
                        r.attempts = 1
                        rows[key] = r
        Reminder.objects.bulk_create(rows.values(), batch_size=BATCH)
        self.summary.reminders = len(rows)

    def write_alerts(self, threshold: Decimal):
        """Funding alerts raised and resolved over the years (the fund ran low now and
        then before a replenishment came in)."""
        rng = self.rng
        alerts = []
        day = self.as_of - timedelta(days=4000)
        while True:
            day += timedelta(days=rng.randint(200, 500))
            resolved = day + timedelta(days=rng.randint(10, 60))
            if resolved >= self.as_of - timedelta(days=30):
                break
            kind = rng.choice([AlertKind.LOW_BALANCE, AlertKind.PIPELINE_EXCEEDS_BALANCE])
            available = _money(threshold * Decimal(rng.uniform(0.2, 0.95)))
            alerts.append(
                FundAlert(
                    kind=kind,
                    raised_at=_at(day, rng),
                    resolved_at=_at(resolved, rng),
                    available_usd=available,
                    threshold_usd=threshold,
                    pipeline_usd=_money(available * Decimal(rng.uniform(1.1, 3))),
                    notified_at=_at(day, rng),
                )
            )
        FundAlert.objects.bulk_create(alerts)
        self.summary.alerts = len(alerts)

    # --- funding windows -------------------------------------------------------------

    def make_windows(self, plans: list[GrantPlan]):
        """Five funding windows (two regional, a thematic one, small grants, and one
        closed regional window), each with a window manager approving up to 150,000,
        and about a fifth of the grants that fit one placed in it. Drawn from a random
        generator of their own, so that the rest of the portfolio is the same with or
        without them. Each window's figures are its grants' (committed, disbursed) and
        its movements' (allocated: an allocation of what it committed and some money
        left; the closed one returned what was left at its closing)."""
        rng = random.Random(self.seed * 7919 + 17)
        tag = f"pf{self.seed}"
        opens = self.as_of - timedelta(days=1500)
        # The thematic window finances the sectors of half the topics.
        themes = sorted({code for _, code in self.topics[::2]})
        specs = [
            ("REG-1", WindowKind.REGIONAL, self.regions[0], [], "400000.00", True),
            (
                "REG-2",
                WindowKind.REGIONAL,
                self.regions[1 % len(self.regions)],
                [],
                "400000.00",
                True,
            ),
            ("THEME", WindowKind.THEMATIC, "", themes, "400000.00", True),
            ("SMALL", WindowKind.SMALL_GRANTS, "", [], "90000.00", True),
            (
                "REG-OLD",
                WindowKind.REGIONAL,
                self.regions[2 % len(self.regions)],
                [],
                "400000.00",
                False,
            ),
        ]
        users = get_user_model()
        managers = users.objects.bulk_create(
            [
                users(
                    username=f"{tag}-wm-{code.lower()}",
                    email=f"{tag}-wm-{code.lower()}@portfolio.example.org",
                    password=make_password(None),
                )
                for code, *_ in specs
            ]
        )
        group = Group.objects.get(name=Role.WINDOW_MANAGER)
        users.groups.through.objects.bulk_create(
            users.groups.through(user_id=u.pk, group_id=group.pk) for u in managers
        )
        self.windows = []
        with explicit_timestamps(Window):
            for (code, kind, region, sectors, maximum, is_open), manager in zip(
                specs, managers, strict=True
            ):
                stamp = _at(opens, rng)
                window = Window.objects.create(
                    code=f"{code}",
                    name=f"{kind.label} window {code}",
                    kind=kind,
                    region=region,
                    max_grant_usd=Decimal(maximum),
                    opens_on=opens,
                    closes_on=self.as_of + timedelta(days=365)
                    if is_open
                    else self.as_of - timedelta(days=200),
                    created_at=stamp,
                    updated_at=stamp,
                )
                window.sectors.set(sectors)
                WindowApprover.objects.create(
                    window=window, user=manager, limit_usd=Decimal("150000.00")
                )
                self.windows.append(window)
                self.window_approvers[window.pk] = [manager]
        placed = 0
        for plan in plans:
            grant = plan.grant
            grant.window_id = None
            # A fifth of the grants, and more of those awaiting a decision (the
            # window's approvers' queue).
            share = 0.6 if grant.status in (S.SUBMITTED, S.UNDER_REVIEW) else 0.2
            if grant.submitted_at is None or rng.random() >= share:
                continue
            day = grant.submitted_at.date()
            fits = [
                w
                for w in self.windows
                if w.opens_on <= day <= w.closes_on
                and (not w.region or w.region == grant.region)
                and (w.kind != WindowKind.THEMATIC or grant.sector_id in themes)
                and grant.requested_usd <= w.max_grant_usd
                and (w.closes_on >= self.as_of or grant.status not in (S.SUBMITTED, S.UNDER_REVIEW))
            ]
            if fits:
                grant.window_id = rng.choice(fits).pk
                placed += 1
        self.window_rng = rng
        self.summary.windows = len(self.windows)
        self.summary.window_grants = placed

    def write_window_money(self, room: Decimal) -> Decimal:
        """The windows' movements, once their grants are written; returns what they
        hold uncommitted (the fund's allocated money), at most ``room``."""
        rng = self.window_rng
        figures = windows_ledger_from_records()
        left = [Decimal(rng.randint(2, 6) * 10000) for _ in self.windows]
        scale = min(Decimal(1), room / max(sum(left), CENT))
        movements, allocated = [], Decimal("0.00")
        for window, extra in zip(self.windows, left, strict=True):
            extra = _money(extra * scale)
            committed = figures[window.pk]["committed_usd"]
            # The allocation covers the most its grants had committed at any time (an
            # approval needs the window's money that day; a closing gives some back later).
            peak = max(committed, _peak_commitment(window))
            stamp = datetime.combine(window.opens_on, time(9), tzinfo=UTC)
            movements.append(
                WindowMovement(
                    window=window,
                    kind=WindowMovementKind.ALLOCATION,
                    amount_usd=max(peak + extra, CENT),
                    reason="Initial allocation",
                    created_at=stamp,
                )
            )
            if window.closes_on < self.as_of:
                # Closed after the last approval of its grants (a closed window approves
                # nothing: a grant submitted in time may be decided after the closing date).
                closed_at = datetime.combine(window.closes_on, time(18), tzinfo=UTC)
                last = Grant.objects.filter(window=window).aggregate(last=models.Max("decided_at"))[
                    "last"
                ]
                if last is not None and last >= closed_at:
                    closed_at = last + timedelta(hours=1)
                movements.append(
                    WindowMovement(
                        window=window,
                        kind=WindowMovementKind.CLOSE,
                        amount_usd=max(peak + extra, CENT) - committed,
                        reason="The call closed",
                        created_at=closed_at,
                    )
                )
                status = WindowStatus.CLOSED
            else:
                allocated += max(peak + extra, CENT) - committed
                status = WindowStatus.OPEN
            Window.objects.filter(pk=window.pk).update(
                status=status,
                allocated_usd=max(peak + extra, CENT) if status == WindowStatus.OPEN else committed,
                committed_usd=committed,
                disbursed_usd=figures[window.pk]["disbursed_usd"],
            )
        with explicit_timestamps(WindowMovement):
            WindowMovement.objects.bulk_create(movements)
        return allocated

    def write_brokering(self):
        """Knowledge offers (one for every two grants: 10,000 at 20,000 grants) and
        exchange requests (one for every ten: 2,000), in the portfolio's topics' sectors,
        most offers published and most requests open. From a random stream of their own,
        so the rest of the portfolio is the same as without them."""
        rng = random.Random(self.seed * 7919 + 18)
        n_offers, n_requests = max(2, self.n // 2), max(1, self.n // 10)
        languages = ["en", "fr", "es", "pt", "ar", "ru", "zh", "sw", "hi", "id"]
        instruments = list(Instrument.values)
        authors = self.leaders + self.managers
        status_weights = {
            OfferStatus.PUBLISHED: 85,
            OfferStatus.DRAFT: 10,
            OfferStatus.WITHDRAWN: 5,
        }

        def pick_sectors():
            codes = {rng.choice(self.topics)[1] for _ in range(rng.randint(1, 3))}
            return sorted(codes)

        offers, offer_sectors = [], []
        for i in range(n_offers):
            topic, _code = rng.choice(self.topics)
            country = rng.choice(self.provider_pool)
            at = _at(self.as_of - timedelta(days=rng.randint(1, 1500)), rng)
            description = (
                f"{country.name}'s experience of {topic}: the reforms, the "
                f"institutions that carried them and the results, shared with peers."
            )
            offers.append(
                Offer(
                    reference=f"OFR-{at.year}-{i + 1:04d}",
                    title=f"{topic[0].upper()}{topic[1:]}: what worked in {country.name}",
                    description=description,
                    # As the services write it (brokering.services.offer_create).
                    rendered_description=render_markdown(description),
                    provider_country_id=country.code,
                    institution=f"Ministry {i % 97 + 1} of {country.name}",
                    instruments=sorted(rng.sample(instruments, rng.randint(1, 3))),
                    languages=sorted(rng.sample(languages, rng.randint(1, 3))),
                    capacity_per_year=rng.randint(1, 8),
                    contact_name=f"Contact {i + 1}",
                    contact_email=f"offer-{i + 1}@portfolio.example.org",
                    status=_weighted(rng, status_weights),
                    created_by_id=authors[i % len(authors)].pk,
                    created_at=at,
                    updated_at=at,
                )
            )
            offer_sectors.append(pick_sectors())
        requests, request_sectors = [], []
        recipients = [c for cs in self.recipients_by_region.values() for c in cs]
        for i in range(n_requests):
            topic, _code = rng.choice(self.topics)
            country = rng.choice(recipients)
            at = _at(self.as_of - timedelta(days=rng.randint(1, 400)), rng)
            requests.append(
                ExchangeRequest(
                    reference=f"REQ-{at.year}-{i + 1:04d}",
                    title=f"{topic[0].upper()}{topic[1:]} for {country.name}",
                    description=f"{country.name} wants to learn about {topic} from its peers.",
                    recipient_country_id=country.code,
                    instruments=sorted(rng.sample(instruments, rng.randint(1, 2))),
                    languages=sorted(rng.sample(languages, rng.randint(1, 2))),
                    needed_by=self.as_of + timedelta(days=rng.randint(30, 400)),
                    endorsed_on=(at.date() if rng.random() < 0.6 else None),
                    status=RequestStatus.OPEN if rng.random() < 0.9 else RequestStatus.CLOSED,
                    requested_by_id=self.leaders[i % len(self.leaders)].pk,
                    created_at=at,
                    updated_at=at,
                )
            )
            request_sectors.append(pick_sectors())
        with explicit_timestamps(Offer, ExchangeRequest):
            offers = Offer.objects.bulk_create(offers, batch_size=BATCH)
            requests = ExchangeRequest.objects.bulk_create(requests, batch_size=BATCH)
        for model, made, sectors in (
            (Offer, offers, offer_sectors),
            (ExchangeRequest, requests, request_sectors),
        ):
            through = model.sectors.through
            owner = f"{model._meta.model_name}_id"
            through.objects.bulk_create(
                [
                    through(**{owner: obj.pk, "sector_id": code})
                    for obj, codes in zip(made, sectors, strict=True)
                    for code in codes
                ],
                batch_size=BATCH,
            )
        self.summary.offers, self.summary.requests = len(offers), len(requests)

    # --- after the exchange: follow-up needs, ex-post checks, lessons -------------------

    def write_follow_up(self, plans: list[GrantPlan]):
        """The follow-up needs the reports that asked for one wrote (one or two each), and
        what became of them once the grant was completed: financed by a later seetf grant
        of the same leader (proposed from the need, then approved: ``proposed_grant`` and
        ``financed_by_grant``, decided when it was approved and by whoever approved it),
        financed elsewhere (by whom, how much), dropped (why), or still open. The two
        ex-post checks of every closed grant (results.receivers: due 6 and 12 months after
        the closing day), most of those due filed by the leader; and the lesson each
        submitted report became (results.services.lesson_from_report), reviewed when the
        report was accepted. From a random stream of their own."""
        rng = random.Random(self.seed * 7919 + 19)
        yesterday = self.as_of - timedelta(days=1)
        last_moment = datetime.combine(yesterday, time(18), tzinfo=UTC)
        # The later grants that may finance a need: approved (and after), by leader.
        later = defaultdict(list)
        for p in plans:
            if p.grant.status in (S.APPROVED, S.COMPLETED, S.CLOSED):
                later[p.grant.task_team_leader_id].append(p)
        for grants in later.values():
            grants.sort(key=lambda p: (p.grant.created_at, p.grant.id))
        starts = {k: [p.grant.created_at for p in v] for k, v in later.items()}
        used: set[int] = set()
        needs = []
        financed_grants: set[int] = set()
        for p in plans:
            report = p.report
            if report is None or not report.follow_up_needed:
                continue
            count = 2 if rng.random() < 0.3 else 1
            for k in range(count):
                if k == 0:
                    kind = FollowUpKind.IMPLEMENTATION_FINANCING
                    description = report.follow_up_description
                else:
                    kind = rng.choice(
                        [
                            FollowUpKind.FURTHER_EXCHANGE,
                            FollowUpKind.TECHNICAL_ASSISTANCE,
                            FollowUpKind.INVESTMENT,
                            FollowUpKind.OTHER,
                        ]
                    )
                    description = NEED_DESCRIPTIONS[kind].format(topic=p.topic)
                estimate = (
                    Decimal(rng.randint(20, 2000) * 1000).quantize(CENT)
                    if rng.random() < 0.8
                    else None
                )
                need = Row(
                    grant_id=p.grant.id,
                    report_id=report.id,
                    kind=kind,
                    description=description,
                    estimated_usd=estimate,
                    status=FollowUpStatus.OPEN,
                    proposed_grant_id=None,
                    financed_by_grant_id=None,
                    financed_elsewhere_by="",
                    financed_elsewhere_usd=None,
                    dropped_reason="",
                    decided_at=None,
                    decided_by_id=None,
                    created_at=report.created_at,
                    updated_at=report.created_at,
                )
                needs.append(need)
                if p.grant.status not in (S.COMPLETED, S.CLOSED):
                    continue  # decided once the grant is completed (results.services)
                weights = (
                    {"open": 25, "grant": 30, "elsewhere": 25, "dropped": 20}
                    if p.grant.status == S.CLOSED
                    else {"open": 70, "grant": 0, "elsewhere": 15, "dropped": 15}
                )
                outcome = _weighted(rng, weights)
                if outcome == "grant":
                    follow_on = self._follow_on(p, later, starts, used)
                    if follow_on is None:
                        outcome = "elsewhere" if rng.random() < 0.5 else "open"
                    else:
                        used.add(follow_on.grant.id)
                        approval = next(e for e in follow_on.events if e[2] == "approve")
                        need.status = FollowUpStatus.FINANCED
                        need.proposed_grant_id = need.financed_by_grant_id = follow_on.grant.id
                        need.decided_at, need.decided_by_id = approval[0], approval[1].pk
                        financed_grants.add(p.grant.id)
                if outcome in ("elsewhere", "dropped"):
                    start = report.submitted_at + timedelta(days=10)
                    if start >= last_moment:
                        continue
                    span = max(1, (last_moment - start).days)
                    decided = _at(start.date() + timedelta(days=rng.randrange(min(span, 700))), rng)
                    need.decided_at = max(decided, start)
                    need.decided_by_id = rng.choice(self.managers).pk
                    if outcome == "elsewhere":
                        need.status = FollowUpStatus.FINANCED
                        need.financed_elsewhere_by = rng.choice(FINANCIERS)
                        base = estimate if estimate is not None else Decimal(500000)
                        need.financed_elsewhere_usd = _money(base * Decimal(rng.uniform(0.4, 1.5)))
                        financed_grants.add(p.grant.id)
                    else:
                        need.status = FollowUpStatus.DROPPED
                        need.dropped_reason = rng.choice(DROPPED_REASONS)
                if need.decided_at is not None:
                    need.updated_at = max(need.created_at, need.decided_at)
        self.writer.write(FollowUpNeed, needs, with_id=False)
        self.summary.follow_up_needs = len(needs)
        self.summary.follow_up_financed = sum(n.status == FollowUpStatus.FINANCED for n in needs)

        # Ex-post checks: both rows of every closed grant, as the closing made them.
        checks = []
        for p in plans:
            if p.grant.status != S.CLOSED:
                continue
            closed_at = next(e[0] for e in reversed(p.events) if e[2] == "close")
            for check in _ex_post_checks(p.grant.id, timezone.localdate(closed_at)):
                filed = None
                if check.due_on <= yesterday and rng.random() < 0.75:
                    day = min(check.due_on + timedelta(days=rng.randint(0, 45)), yesterday)
                    filed = _at(day, rng)
                answers = {
                    "action_plan_adopted": rng.random() < 0.6,
                    "pilot_funded": rng.random() < 0.3,
                    "reform_enacted": rng.random() < 0.2,
                    "investment_made": rng.random() < 0.1,
                    "follow_up_financed": p.grant.id in financed_grants,
                }
                if filed is None:
                    answers = dict.fromkeys(answers, False)
                checks.append(
                    Row(
                        grant_id=p.grant.id,
                        months_after_close=check.months_after_close,
                        closed_on=check.closed_on,
                        due_on=check.due_on,
                        submitted_at=filed,
                        submitted_by_id=p.grant.task_team_leader_id if filed else None,
                        **answers,
                        evidence=(
                            f"Confirmed with the {p.topic} unit of the recipient ministry."
                            if filed
                            else ""
                        ),
                        notes="",
                        created_at=closed_at,
                        updated_at=filed or closed_at,
                    )
                )
        self.writer.write(ExPostCheck, checks, with_id=False)
        self.summary.ex_post_checks = len(checks)
        self.summary.ex_post_filed = sum(c.submitted_at is not None for c in checks)

        # Lessons: each submitted report's lessons text, as its submission made it.
        lessons, outcomes = [], []
        next_lesson = self.writer.next_id(Lesson)
        evidence = {
            EvidenceLevel.SELF_REPORTED: 85,
            EvidenceLevel.PARTICIPANT_FEEDBACK: 12,
            EvidenceLevel.INDEPENDENT_REVIEW: 3,
        }
        for p in plans:
            report = p.report
            if report is None or report.submitted_at is None or not report.lessons.strip():
                continue
            accepted = report.accepted_at is not None
            lesson_id = next_lesson + len(lessons)
            lessons.append(
                Row(
                    id=lesson_id,
                    grant_id=p.grant.id,
                    completion_report_id=report.id,
                    what_worked=report.lessons[:5000],
                    what_did_not="",
                    why="",
                    evidence_level=_weighted(rng, evidence),
                    review_status=LessonReview.APPROVED if accepted else LessonReview.PENDING,
                    review_comment="",
                    reviewed_at=report.accepted_at,
                    reviewed_by_id=report.accepted_by_id,
                    created_by_id=p.grant.task_team_leader_id,
                    source=f"report:{report.id}",
                    created_at=report.submitted_at,
                    updated_at=report.accepted_at or report.submitted_at,
                )
            )
            outcomes += [(lesson_id, o) for o in OUTCOME_FIELDS if getattr(report, o)]
        self.writer.write(Lesson, lessons)
        self.writer.write(Lesson.outcomes.through, outcomes, columns=["lesson_id", "outcome_id"])
        self.writer.reset_sequences([Lesson])
        self.summary.lessons = len(lessons)

    @staticmethod
    def _follow_on(plan, later, starts, used):
        """The leader's first grant proposed after the report, approved, financing nothing
        yet; None when there is none."""
        leader = plan.grant.task_team_leader_id
        candidates = later.get(leader, [])
        for other in candidates[bisect.bisect_right(starts[leader], plan.report.submitted_at) :]:
            if other.grant.id != plan.grant.id and other.grant.id not in used:
                return other
        return None

    # --- documents ------------------------------------------------------------------------

    def write_documents(self, plans: list[GrantPlan]):
        """Documents (about two for every five grants): concept notes uploaded
        with the proposal, grant agreements after approval, agendas, participant lists,
        presentations and photos of the exchanges, back-to-office reports on an exchange
        or on the completion report (never both). Small real files (a one-page PDF, a
        PNG, text and CSV), their bytes in the ``documents`` storage under the names the
        upload service gives (``grants/<id>/<hex>``), sniffed as documents.files would.
        From a random stream of their own."""
        rng = random.Random(self.seed * 7919 + 20)
        storage = document_storage()
        try:
            root = Path(storage.path(""))  # the file system: written directly, fast
        except NotImplementedError:
            root = None
        yesterday = datetime.combine(self.as_of - timedelta(days=1), time(18), tzinfo=UTC)
        rows, made_dirs = [], set()
        for p in plans:
            grant = p.grant
            count = rng.choices((0, 1, 2, 3), weights=(74, 16, 7, 3))[0]
            if not count:
                continue
            leader = grant.task_team_leader_id
            approved = grant.approved_usd is not None and grant.decided_at is not None
            end = p.events[-1][0] if grant.status in (S.REJECTED, S.CANCELLED) else yesterday
            end = max(end, grant.created_at + timedelta(hours=1))
            for _ in range(count):
                choices = [DocumentCategory.CONCEPT_NOTE, DocumentCategory.OTHER]
                if approved:
                    choices += [DocumentCategory.AGREEMENT] + [DocumentCategory.AGENDA] * 2
                    choices += [DocumentCategory.PARTICIPANT_LIST, DocumentCategory.PRESENTATION]
                    choices += [DocumentCategory.PHOTO, DocumentCategory.BACK_TO_OFFICE_REPORT]
                category = rng.choice(choices)
                exchange_id = report_id = None
                at = grant.created_at + timedelta(minutes=rng.randint(5, 600))
                uploader = leader
                if category in (DocumentCategory.AGREEMENT,):
                    at = grant.decided_at + timedelta(days=rng.randint(1, 20))
                    uploader = next(e[1].pk for e in p.events if e[2] == "approve")
                elif category not in (DocumentCategory.CONCEPT_NOTE, DocumentCategory.OTHER):
                    exchange = rng.choice(p.exchanges)
                    day = exchange.end_date if exchange.status == ExchangeStatus.HELD else None
                    day = day or max(grant.decided_at.date(), exchange.start_date - timedelta(14))
                    at = _at(day + timedelta(days=rng.randint(0, 10)), rng)
                    if (
                        category == DocumentCategory.BACK_TO_OFFICE_REPORT
                        and p.report is not None
                        and rng.random() < 0.5
                    ):
                        report_id = p.report.id
                        at = max(at, p.report.created_at)
                    else:
                        exchange_id = exchange.id
                at = min(at, end)
                if at < grant.created_at:
                    at = grant.created_at
                title, extension, content = _document_file(category, grant, p)
                reference = (grant.reference or f"draft-{grant.id}").lower()
                stored = f"grants/{grant.id}/{rng.getrandbits(128):032x}"
                rows.append(
                    (
                        grant.id,
                        exchange_id,
                        report_id,
                        category,
                        title[:200],
                        safe_filename(f"{category.replace('_', '-')}-{reference}.{extension}"),
                        stored,
                        len(content),
                        DOCUMENT_TYPES[extension],
                        uploader,
                        at,
                    )
                )
                if root is not None:
                    folder = root / "grants" / str(grant.id)
                    if folder not in made_dirs:
                        folder.mkdir(parents=True, exist_ok=True)
                        made_dirs.add(folder)
                    (root / stored).write_bytes(content)
                else:
                    saved = storage.save(stored, ContentFile(content))
                    if saved != stored:
                        rows[-1] = (*rows[-1][:6], saved, *rows[-1][7:])
        self.writer.write(
            Document,
            rows,
            columns=[
                "grant_id",
                "exchange_id",
                "completion_report_id",
                "category",
                "title",
                "filename",
                "stored_name",
                "size",
                "content_type",
                "uploaded_by_id",
                "uploaded_at",
            ],
        )
        self.summary.documents = len(rows)
        self.summary.document_bytes = sum(r[7] for r in rows)

    # --- the discussion and notifications ---------------------------------------------------

    def write_discussion(self, plans: list[GrantPlan]):
        """Comments on the grants (a few on most grants still under way, now and then one
        on a grant long finished), written by the grant's leader or a fund manager, some
        mentioning the other; and the notifications of the last year
        (``NOTIFICATION_DAYS``): of every workflow action and disbursement the receivers
        tell of (collaboration/receivers.py: who is told, in what words), and of the
        comments (collaboration.services.comment_create). Each is delivered as its
        receiver's preferences say (a tenth of the leaders have chosen daily digests);
        most were read, and all but those of the last day were e-mailed. From a random
        stream of their own."""
        rng = random.Random(self.seed * 7919 + 21)
        users = {u.pk: u for u in self.leaders + self.managers}
        for approvers in self.window_approvers.values():
            users.update((u.pk, u) for u in approvers)
        managers = [m.pk for m in self.managers]
        # Preferences: a tenth of the leaders read everything in a daily digest.
        daily = {u.pk for u in self.leaders if rng.random() < 0.1}
        NotificationPreference.objects.bulk_create(
            [
                NotificationPreference(user_id=pk, kind=kind, delivery=Delivery.DAILY)
                for pk in sorted(daily)
                for kind in NotificationKind.values
            ],
            batch_size=BATCH,
        )
        self.summary.notification_preferences = len(daily) * len(NotificationKind.values)
        yesterday = datetime.combine(self.as_of - timedelta(days=1), time(18), tzinfo=UTC)
        since = datetime.combine(
            self.as_of - timedelta(days=NOTIFICATION_DAYS), time(0), tzinfo=UTC
        )
        rendered: dict[str, str] = {}
        notes: list[tuple] = []  # (user, kind, grant id, text, path, at)
        comments, mentions = [], []
        next_comment = self.writer.next_id(Comment)
        active = {S.DRAFT, S.SUBMITTED, S.UNDER_REVIEW, S.RETURNED, S.APPROVED, S.COMPLETED}
        with translation.override(settings.LANGUAGE_CODE):
            for p in plans:
                grant = p.grant
                approvers = [u.pk for u in self.window_approvers.get(grant.window_id, [])]
                leader = grant.task_team_leader_id
                label = f"{grant.reference}: {grant.title}" if grant.reference else grant.title
                path = f"/grants/{grant.id}/"
                # The workflow's notifications (collaboration.receivers.TRANSITIONS).
                for at, actor, action, from_status, _to, comment in p.events:
                    if at < since or action not in NOTIFIED_ACTIONS:
                        continue
                    said = gettext(TEXTS["said"]) % {"comment": comment} if comment else ""
                    name = actor.get_username()
                    if action == "submit":
                        text = gettext(
                            TEXTS["resubmit" if from_status == S.RETURNED else "submit"]
                        ) % {
                            "leader": users[leader].get_username(),
                            "grant": label,
                            "amount": _usd(grant.requested_usd),
                        }
                        told, kind, anchor = managers + approvers, NotificationKind.SUBMITTED, ""
                    elif action == "approve":
                        text = gettext(TEXTS["approve"]) % {
                            "grant": label,
                            "amount": _usd(grant.approved_usd),
                            "user": name,
                        }
                        told, kind, anchor = [leader], NotificationKind.APPROVED, ""
                    elif action == "complete":
                        text = gettext(TEXTS["complete"]) % {"user": name, "grant": label}
                        told, kind = managers, NotificationKind.REPORT_SUBMITTED
                        anchor, said = "report/", ""
                    elif action == "accept-report":
                        text = gettext(TEXTS["accept-report"]) % {"grant": label, "user": name}
                        told, kind, anchor, said = (
                            [leader],
                            NotificationKind.REPORT_ACCEPTED,
                            "report/",
                            "",
                        )
                    else:  # return, reject
                        text = gettext(TEXTS[action]) % {"grant": label, "user": name}
                        told, anchor = [leader], ""
                        kind = (
                            NotificationKind.RETURNED
                            if action == "return"
                            else NotificationKind.REJECTED
                        )
                    for pk in sorted(set(told) - {actor.pk}):
                        notes.append((pk, kind, grant.id, (text + said)[:6000], path + anchor, at))
                for d in p.disbursements:
                    if d.created_at < since or d.recorded_by_id == leader:
                        continue
                    text = gettext(TEXTS["disbursement"]) % {
                        "amount": _usd(d.amount_usd),
                        "grant": label,
                        "day": date_format(d.disbursed_on, "SHORT_DATE_FORMAT"),
                    }
                    notes.append(
                        (
                            leader,
                            NotificationKind.DISBURSEMENT,
                            grant.id,
                            text,
                            path + "#disbursements",
                            d.created_at,
                        )
                    )
                # The discussion.
                if grant.status in active:
                    count = rng.choices((0, 1, 2, 3, 4), weights=(25, 30, 25, 12, 8))[0]
                else:
                    count = rng.choice((1, 2)) if rng.random() < 0.12 else 0
                if not count:
                    continue
                end = p.events[-1][0] if grant.status not in active else yesterday
                start = grant.created_at + timedelta(hours=1)
                if end <= start:
                    continue
                span = int((end - start).total_seconds())
                stamps = sorted(
                    start + timedelta(seconds=rng.randrange(span)) for _ in range(count)
                )
                writers: set[int] = set()
                decided = [e for e in p.events if e[2] in COMMENT_DECISIONS]
                for at in stamps:
                    submitted = grant.submitted_at is not None and at >= grant.submitted_at
                    deciders = {e[1].pk for e in decided if e[0] <= at}
                    by_manager = submitted and rng.random() < 0.45
                    if by_manager:
                        author = next(iter(sorted(deciders)), None) or rng.choice(managers)
                        other = leader
                        template = rng.choice(MANAGER_COMMENTS)
                    else:
                        author, template = leader, rng.choice(LEADER_COMMENTS)
                        other = next(iter(sorted(deciders)), None) if submitted else None
                    mention = other is not None and rng.random() < 0.2
                    body = template.format(topic=p.topic, country=p.recipients[0].name)
                    if mention:
                        body = f"@{users[other].get_username()} {body}"
                    html = rendered.get(body)
                    if html is None:
                        html = rendered[body] = render_markdown(body)
                    comment_id = next_comment + len(comments)
                    comments.append((comment_id, grant.id, author, body, html, at))
                    if mention:
                        mentions.append((comment_id, other))
                    if at >= since:
                        # Who is told (collaboration.services._told_of_comments), before
                        # this comment makes its author a writer.
                        participants = {leader}
                        if submitted:
                            participants |= set(managers) | set(approvers)
                        followers = deciders or (set(managers) | set(approvers))
                        told = participants & ({leader} | followers | writers)
                        values = {
                            "author": users[author].get_username(),
                            "grant": label if submitted else grant.title,
                            "excerpt": body
                            if len(body) <= EXCERPT
                            else body[:EXCERPT].rstrip() + "…",
                        }
                        here = f"{path}#comment-{comment_id}"
                        if mention:
                            notes.append(
                                (
                                    other,
                                    NotificationKind.MENTION,
                                    grant.id,
                                    gettext(TEXTS["mention"]) % values,
                                    here,
                                    at,
                                )
                            )
                        text = gettext(TEXTS["comment"]) % values
                        for pk in sorted(told - {author, other if mention else None}):
                            notes.append((pk, NotificationKind.COMMENT, grant.id, text, here, at))
                    writers.add(author)
        self.writer.write(
            Comment,
            comments,
            columns=["id", "grant_id", "author_id", "body", "body_html", "created_at"],
        )
        self.writer.write(Comment.mentions.through, mentions, columns=["comment_id", "user_id"])
        self.writer.reset_sequences([Comment])
        self.summary.comments = len(comments)
        self.summary.mentions = len(mentions)

        # Delivered as chosen; read and e-mailed mostly (the last day's still pending).
        last_day = self.as_of - timedelta(days=1)
        rows = []
        for pk, kind, grant_id, text, path, at in sorted(notes, key=lambda n: (n[5], n[0])):
            delivery = Delivery.DAILY if pk in daily else Delivery.IMMEDIATELY
            recent = at.date() >= last_day
            if delivery == Delivery.DAILY:
                emailed = datetime.combine(at.date() + timedelta(days=1), time(6), tzinfo=UTC)
                emailed = None if emailed.date() >= self.as_of else emailed
            else:
                emailed = None if recent else at + timedelta(minutes=rng.randint(1, 10))
            read = None
            if rng.random() < (0.3 if at.date() >= self.as_of - timedelta(days=14) else 0.93):
                read = at + timedelta(minutes=rng.randint(5, 3 * 24 * 60))
                read = read if read.date() < self.as_of else None
            rows.append(
                (
                    pk,
                    kind,
                    grant_id,
                    text,
                    path,
                    at,
                    read,
                    delivery,
                    emailed,
                    int(bool(emailed)),
                    "",
                )
            )
        self.writer.write(
            Notification,
            rows,
            columns=[
                "user_id",
                "kind",
                "grant_id",
                "text",
                "path",
                "created_at",
                "read_at",
                "delivery",
                "emailed_at",
                "attempts",
                "last_error",
            ],
        )
        self.summary.notifications = len(rows)
        self.summary.notifications_unread = sum(r[6] is None for r in rows)
        self.summary.notifications_pending = sum(r[8] is None for r in rows)

    def run(self) -> PortfolioSummary:
        if Grant.objects.exists() or Contribution.objects.exists():
            raise PortfolioError(
                "The database already holds grants or contributions: generate a portfolio "
                "into an empty database."
            )
        self.writer = _Writer()
        self.next_ids = {
            "grant": self.writer.next_id(Grant),
            "exchange": self.writer.next_id(Exchange),
            "report": self.writer.next_id(CompletionReport),
        }
        self.load_reference()
        self.make_partners()
        self.make_people()
        plans = [self.plan_grant(i, status) for i, status in enumerate(self.statuses())]
        if self.with_windows:
            self.make_windows(plans)
        else:
            for plan in plans:
                plan.grant.window_id = None
        committed = sum(
            (p.grant.approved_usd - p.grant.released_usd for p in plans if p.grant.approved_usd),
            Decimal("0.00"),
        )
        self.write_money_in(committed)
        self.write_grants(plans)
        self.write_stories(plans)
        self.write_reminders(plans)
        self.write_alerts(settings.FUNDING_ALERT_THRESHOLD_USD)
        # The windows hold part of what is left (half of it at most).
        received = Receipt.objects.aggregate(total=models.Sum("usd_amount"))["total"]
        if self.with_windows:
            self.write_window_money(_money((received - committed) / 2))
        self.write_brokering()
        self.write_follow_up(plans)
        self.write_documents(plans)
        self.write_discussion(plans)
        # The ledger: exactly what the records say, checked.
        ledger = fund_ledger_from_records()
        Fund.objects.update_or_create(pk=1, defaults=ledger)
        fund = Fund.objects.get(pk=1)
        recorded = {
            "received_usd": fund.received_usd,
            "committed_usd": fund.committed_usd,
            "disbursed_usd": fund.disbursed_usd,
            "allocated_usd": fund.allocated_usd,
        }
        windows_exact = all(
            figures
            == {
                "allocated_usd": w.allocated_usd,
                "committed_usd": w.committed_usd,
                "disbursed_usd": w.disbursed_usd,
                "available_usd": w.available_usd,
            }
            for w in Window.objects.all()
            for figures in [windows_ledger_from_records()[w.pk]]
        )
        if fund.available_usd < 0 or fund_ledger_from_records() != recorded or not windows_exact:
            # Not an assert: it must hold under python -O as well (the transaction rolls back).
            raise PortfolioError(f"The generated ledger is inconsistent: {recorded}")
        counts = defaultdict(int)
        for p in plans:
            counts[p.grant.status] += 1
        self.summary.grants = len(plans)
        self.summary.by_status = {s: counts[s] for s in STATUS_WEIGHTS}
        self.summary.ledger = {**ledger, "available_usd": fund.available_usd}
        return self.summary


def _peak_commitment(window) -> Decimal:
    """The most a window's grants had committed at any one time: approvals add what was
    approved, closings and cancellings take away what they released (by day, releases
    before approvals, as the importer replays them)."""
    moves = [
        (at.date(), 1, approved)
        for at, approved in Grant.objects.filter(
            window=window, approved_usd__isnull=False, decided_at__isnull=False
        ).values_list("decided_at", "approved_usd")
    ]
    released = dict(
        Grant.objects.filter(window=window, released_usd__gt=0).values_list("pk", "released_usd")
    )
    moves += [
        (at.date(), 0, -released[grant_id])
        for grant_id, at in GrantHistory.objects.filter(
            grant_id__in=released, action__in=["close", "cancel"]
        ).values_list("grant_id", "at")
    ]
    running = peak = Decimal("0.00")
    for _day, _order, amount in sorted(moves):
        running += amount
        peak = max(peak, running)
    return peak


def generate_portfolio(
    *, grants: int, seed: int = 1, as_of: date = DEFAULT_AS_OF, windows: bool = True
) -> PortfolioSummary:
    """Write a portfolio of ``grants`` grants (see the module's docstring), in one
    transaction, into a database that holds no grants or contributions yet; with
    ``windows=False``, none of its grants in a funding window (and no windows)."""
    if grants < 1:
        raise ValueError("A portfolio has at least one grant.")
    with transaction.atomic():
        return _Generator(grants=grants, seed=seed, as_of=as_of, windows=windows).run()
