"""Importing a portfolio: every row checked first, every problem reported at once, then
everything written in one transaction through the services, or nothing.

1. **Read** (``reader``): the file's safety (size, zip, zip bomb), each cell's type and
   code list, formulas refused.
2. **Check** every row against the rules the services apply, with the reference data
   (countries, sectors, partners, users, the records already held) read once:
   references unique, codes known, dates in order, receipts within their pledge, money
   disbursed within the amount approved, and **the fund's money in date order**: the
   receipts, approvals and releases (cancelled and closed grants give back what they did
   not disburse) of the file are replayed day by day (on one day: receipts, then
   releases, then approvals), and an approval beyond the money available that day is a
   problem of its row.
3. **Write**, when nothing was found, in one transaction, through the services:
   ``partners.services`` (``partner_create``, ``contribution_create``,
   ``users_create_many`` for new task team leaders, ``receipts_record_many``), and
   ``results.services.grants_record_past`` over ``grants.services.grants_record_past``:
   each grant's whole life checked step by step by the workflow table (the rule, the
   status, the guards, the effect, as ``grant_transition`` applies them; exchanges by
   ``exchange_check``, disbursements by ``disbursement_check``, the report by
   ``completion_report_save_check``), with the history at the file's dates, then written
   with one statement per table. The fund's ledger moves in date order under its lock
   (``fund_commit``, ``fund_release``, ``fund_disburse``): the receipts, and between two
   runs of them the decisions as one net move. A refusal by a service (a rule the
   checks missed) is reported with its row, and nothing is written. A dry run does all
   of it and rolls back.

**A record held already** (a partner by its code, a pledge by its reference, a grant by
its reference) is compared with the file's row and, for a pledge or a grant, with its
receipts, or its exchanges, disbursements and completion report: identical, it is
skipped (a re-import of the same file changes nothing); different, it is a problem (the
import adds records; it never changes or deletes one). Receipts, exchanges,
disbursements and reports are imported with their pledge or grant, never on their own
onto a record held already.

Decisions are taken by the importing fund manager (``user``; the command's default is
the account ``seetf-import``, which cannot sign in), at noon (``TIME_ZONE``) of the
file's dates; the grant's own steps (create, submit, the report) by its task team
leader, created as a task team leader if the username is new (no usable password).
"""

from __future__ import annotations

import gc
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as clock

import pycountry
from django.contrib.auth import get_user_model
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from audit.services import audit_record
from grants.models import MAX_GRANT_USD, CapacityOutcome, Grant, GrantStatus
from grants.references import REFERENCE_PATTERN
from grants.services import PastGrant, PastStep
from partners.models import MAX_AMOUNT, Contribution, Country, Partner, PartnerKind, Sector
from partners.roles import Role, is_fund_manager, user_roles
from partners.services import (
    EARLIEST_DATE,
    contribution_create,
    fund_commit,
    fund_disburse,
    fund_release,
    partner_create,
    receipts_record_many,
    user_create_or_update,
    users_create_many,
)
from results.models import ConcreteResultKind
from results.services import grants_record_past
from seetf.common.errors import ApplicationError
from seetf.common.money import ZERO

from .reader import FileRefused, Problem, Row, read_source
from .records import contribution_rows, grant_rows, partner_rows
from .schema import SHEETS

SYSTEM_USER = "seetf-import"
S = GrantStatus
APPROVED_LINE = {S.APPROVED, S.COMPLETED, S.CLOSED, S.CANCELLED}
REVIEWED = {S.UNDER_REVIEW}
DECIDED = {S.RETURNED, S.REJECTED} | APPROVED_LINE
ENDED = {S.CLOSED, S.CANCELLED}
REPORTED = {S.COMPLETED, S.CLOSED}
PARTNER_CODE = re.compile(r"^[A-Z0-9_-]{2,16}$")
# Events on one day, in this order: money in, money given back, money committed.
RECEIPT, RELEASE, APPROVAL, AFTER = 0, 1, 2, 3
OUTCOMES = frozenset(CapacityOutcome.values)
RESULT_KINDS = frozenset(ConcreteResultKind.values)
# Grants handed to the batch service at a time (memory stays bounded).
GRANT_CHUNK = 2000


@dataclass
class ImportResult:
    problems: list = field(default_factory=list)
    created: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    dry_run: bool = False
    written: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        parts = [f"{n} {sheet}" for sheet, n in self.created.items() if n]
        skipped = [f"{n} {sheet}" for sheet, n in self.skipped.items() if n]
        text = ", ".join(parts) or "nothing new"
        if skipped:
            text += f" (held already, unchanged: {', '.join(skipped)})"
        return text


def noon(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, clock(12, 0)))


def _norm(row: dict) -> dict:
    return {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items()}


def _sorted_rows(rows, names) -> list:
    return sorted(tuple(str(r.get(n)) for n in names) for r in rows)


def _message(exc) -> str:
    if isinstance(exc, ValidationError):
        if hasattr(exc, "message_dict"):
            return " ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        return " ".join(exc.messages)
    if isinstance(exc, ApplicationError):
        return exc.message
    return str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__


class _Check:
    """The checking pass: fills ``problems`` and the plan the writing pass follows."""

    def __init__(self, rows: list[Row], actor):
        self.problems: list[Problem] = []
        self.by_sheet: dict[str, list[Row]] = defaultdict(list)
        for row in rows:
            self.by_sheet[row.sheet].append(row)
        self.actor = actor
        self.skipped: Counter = Counter()

    def add(self, row: Row | None, column: str, message: str, sheet: str = "") -> None:
        if row is None:
            self.problems.append(Problem(sheet, 0, column, message))
        else:
            self.problems.append(Problem(row.sheet, row.number, column, message))

    # --- reference data, once ------------------------------------------------------

    def load(self):
        self.countries = set(Country.objects.values_list("code", flat=True))
        self.sectors = set(Sector.objects.values_list("code", flat=True))
        self.db_partners = {
            p["code"]: p
            for p in partner_rows(codes=[r.values["code"] for r in self.rows("partners")])
        }
        self.partner_kinds = dict(Partner.objects.values_list("code", "kind"))
        self.partner_names = dict(Partner.objects.values_list("name", "code"))
        refs = [r.values["reference"] for r in self.rows("contributions")]
        contributions, receipts = contribution_rows(references=refs)
        self.db_contributions = {c["reference"]: c for c in contributions}
        self.db_receipts = defaultdict(list)
        for r in receipts:
            self.db_receipts[r["contribution"]].append(r)
        self.all_contribution_refs = set(Contribution.objects.values_list("reference", flat=True))
        grant_refs = [r.values["reference"] for r in self.rows("grants")]
        held = grant_rows(references=grant_refs)
        self.db_grants = {g["reference"]: g for g in held["grants"]}
        self.db_children = {
            sheet: defaultdict(list)
            for sheet in ("exchanges", "disbursements", "completion_reports")
        }
        for sheet in self.db_children:
            for child in held[sheet]:
                self.db_children[sheet][child["grant"]].append(child)
        self.all_grant_refs = set(
            Grant.objects.exclude(reference=None).values_list("reference", flat=True)
        )
        usernames = {r.values["task_team_leader"] for r in self.rows("grants")}
        User = get_user_model()
        self.users = {u.username: u for u in User.objects.filter(username__in=usernames)}
        for user in self.users.values():
            user_roles(user)  # read once, cached on the object
        self.today = timezone.localdate()

    def rows(self, sheet: str) -> list[Row]:
        return self.by_sheet.get(sheet, [])

    # --- helpers -------------------------------------------------------------------

    def _unique(self, sheet: str, key: str) -> dict[str, Row]:
        seen: dict[str, Row] = {}
        for row in self.rows(sheet):
            value = row.values[key]
            if not value:
                continue
            if value in seen:
                self.add(
                    row,
                    key,
                    gettext("%(value)s is given twice (also row %(number)s).")
                    % {"value": value, "number": seen[value].number},
                )
                row.values["_duplicate"] = True
                continue
            seen[value] = row
        return seen

    def _date(self, row, name, *, required=False):
        value = row.values.get(name)
        if value is None:
            if required:
                self.add(row, name, "Required.")
            return None
        if value < EARLIEST_DATE:
            self.add(
                row,
                name,
                gettext("Must be on or after %(earliest_date)s.")
                % {"earliest_date": f"{EARLIEST_DATE:%Y-%m-%d}"},
            )
        elif value > self.today:
            self.add(row, name, gettext("Cannot be in the future."))
        return value

    def _money(self, row, name, *, limit=MAX_AMOUNT):
        value = row.values.get(name)
        if value is None:
            return None
        if value <= 0:
            self.add(row, name, gettext("Must be greater than zero."))
            return None
        if value > limit:
            self.add(row, name, gettext("Must be at most %(limit)s.") % {"limit": f"{limit:,}"})
            return None
        return value

    def _countries(self, row, name):
        unknown = [c for c in row.values[name] if c not in self.countries]
        if unknown:
            self.add(
                row,
                name,
                gettext(
                    "Unknown country code(s): %(unknown)s (ISO 3166 alpha-3; see the codes sheet)."
                )
                % {"unknown": ", ".join(unknown)},
            )

    def _compare(self, row, held: dict, what: str) -> bool:
        """True when the file's row is the record held; else a problem per column."""
        differing = [
            name
            for name, value in _norm(held).items()
            if name in row.values and row.values[name] != value
        ]
        for name in differing:
            self.add(
                row,
                name,
                gettext(
                    "%(what)s is held already with %(value)s; the file says %(value2)s. "
                    "An import adds records, it does not change them."
                )
                % {"what": what, "value": f"{held[name]!r}", "value2": f"{row.values[name]!r}"},
            )
        return not differing

    # --- the sheets ----------------------------------------------------------------

    def partners(self):
        self.new_partners: list[Row] = []
        self.file_partner_kinds = {}
        names = {}
        for code, row in self._unique("partners", "code").items():
            v = row.values
            self.file_partner_kinds[code] = v["kind"]
            if code in self.db_partners:
                if self._compare(row, self.db_partners[code], f"Partner {code}"):
                    self.skipped["partners"] += 1
                continue
            if not PARTNER_CODE.match(code):
                self.add(row, "code", gettext("Use 2-16 capitals, digits, - or _."))
            if v["country"] and v["country"] not in self.countries:
                self.add(
                    row,
                    "country",
                    gettext("Unknown country code %(country)s (ISO 3166 alpha-3).")
                    % {"country": v["country"]},
                )
            if v["name"] in names:
                self.add(
                    row,
                    "name",
                    gettext("The name is given twice (also row %(row)s).")
                    % {"row": names[v["name"]]},
                )
            elif self.partner_names.get(v["name"], code) != code:
                self.add(
                    row,
                    "name",
                    gettext("Partner %(value)s has this name.")
                    % {"value": self.partner_names[v["name"]]},
                )
            names[v["name"]] = row.number
            if v["joined_on"] and v["joined_on"] > self.today:
                self.add(row, "joined_on", gettext("Cannot be in the future."))
            self.new_partners.append(row)

    def contributions(self):
        self.new_contributions: dict[str, Row] = {}
        self.pledges: dict[str, Row] = {}
        receipts = defaultdict(list)
        for row in self.rows("receipts"):
            receipts[row.values["contribution"]].append(row)
        self.receipts_of = receipts
        for reference, row in self._unique("contributions", "reference").items():
            v = row.values
            self.pledges[reference] = row
            currency = v["currency"]
            if currency and pycountry.currencies.get(alpha_3=currency) is None:
                self.add(
                    row,
                    "currency",
                    gettext("'%(currency)s' is not an ISO 4217 currency code.")
                    % {"currency": currency},
                )
            if currency == "USD":
                if v["pledged_usd"] is not None and v["pledged_usd"] != v["pledged_amount"]:
                    self.add(
                        row, "pledged_usd", gettext("For a USD pledge it equals pledged_amount.")
                    )
                v["pledged_usd"] = v["pledged_amount"]
            for r in receipts[reference]:
                if currency == "USD" and r.values["usd_amount"] is None:
                    r.values["usd_amount"] = r.values["amount"]
            if reference in self.db_contributions:
                held = self.db_contributions[reference]
                same = self._compare(row, held, f"Contribution {reference}")
                names = ("received_on", "amount", "usd_amount")
                if same and _sorted_rows([r.values for r in receipts[reference]], names) != (
                    _sorted_rows(self.db_receipts[reference], names)
                ):
                    self.add(
                        row,
                        "reference",
                        gettext(
                            "Contribution %(reference)s is held already with %(n_value)s "
                            "receipt(s) that differ from the file's %(n_value2)s. An import adds "
                            "records, it does not change them."
                        )
                        % {
                            "reference": reference,
                            "n_value": len(self.db_receipts[reference]),
                            "n_value2": len(receipts[reference]),
                        },
                    )
                    same = False
                if same:
                    self.skipped["contributions"] += 1
                    self.skipped["receipts"] += len(receipts[reference])
                    for r in receipts[reference]:
                        r.values["_held"] = True
                continue
            if reference in self.all_contribution_refs:
                self.add(
                    row,
                    "reference",
                    gettext("Contribution %(reference)s exists already.")
                    % {"reference": reference},
                )
                continue
            partner = v["partner"]
            if (
                partner
                and partner not in self.partner_kinds
                and partner not in self.file_partner_kinds
            ):
                self.add(
                    row,
                    "partner",
                    gettext("Unknown partner %(partner)s: add it to the partners sheet.")
                    % {"partner": partner},
                )
            self._money(row, "pledged_amount")
            if currency != "USD" and v["pledged_usd"] is None and v["pledged_amount"]:
                self.add(
                    row,
                    "pledged_usd",
                    gettext("Give the USD value of a pledge in another currency."),
                )
            self._money(row, "pledged_usd")
            if v["period_start"] and v["period_end"] and v["period_end"] < v["period_start"]:
                self.add(row, "period_end", gettext("The period cannot end before it starts."))
            self.new_contributions[reference] = row
        for reference, rows in receipts.items():
            pledge = self.pledges.get(reference)
            if pledge is None:
                for r in rows:
                    held = reference in self.all_contribution_refs
                    self.add(
                        r,
                        "contribution",
                        gettext(
                            "Contribution %(reference)s is held already: receipts come in with "
                            "their contribution's row."
                        )
                        % {"reference": reference}
                        if held
                        else gettext(
                            "Unknown contribution %(reference)s: add it to the contributions sheet."
                        )
                        % {"reference": reference},
                    )
                continue
            for r in rows:
                self._date(r, "received_on", required=True)
                self._money(r, "amount")
                if pledge.values["currency"] not in ("USD", "") and r.values["usd_amount"] is None:
                    self.add(
                        r,
                        "usd_amount",
                        gettext("Give the USD credited for money in another currency."),
                    )
                self._money(r, "usd_amount")
                if (
                    pledge.values["currency"] == "USD"
                    and r.values["usd_amount"] != r.values["amount"]
                ):
                    self.add(r, "usd_amount", gettext("For a USD contribution it equals amount."))
            if reference not in self.new_contributions:
                continue
            amount = usd = ZERO
            p = pledge.values
            for r in sorted(rows, key=lambda r: (r.values["received_on"] or date.max, r.number)):
                amount += r.values["amount"] or ZERO
                usd += r.values["usd_amount"] or ZERO
                if p["pledged_amount"] and amount > p["pledged_amount"]:
                    self.add(
                        r,
                        "amount",
                        gettext(
                            "With this receipt %(amount)s %(currency)s would be received against "
                            "a pledge of %(pledged_amount)s (contributions row %(number)s): a "
                            "receipt stays within its pledge."
                        )
                        % {
                            "amount": f"{amount:,.2f}",
                            "currency": p["currency"],
                            "pledged_amount": f"{p['pledged_amount']:,.2f}",
                            "number": pledge.number,
                        },
                    )
                    break
                if p["pledged_usd"] and usd > p["pledged_usd"]:
                    self.add(
                        r,
                        "usd_amount",
                        gettext(
                            "With this receipt %(usd)s USD would be credited against a pledge "
                            "worth %(pledged_usd)s USD (contributions row %(number)s)."
                        )
                        % {
                            "usd": f"{usd:,.2f}",
                            "pledged_usd": f"{p['pledged_usd']:,.2f}",
                            "number": pledge.number,
                        },
                    )
                    break

    def grants(self):
        self.new_grants: dict[str, Row] = {}
        self.file_grants: dict[str, Row] = {}
        children = {
            sheet: defaultdict(list)
            for sheet in ("exchanges", "disbursements", "completion_reports")
        }
        for sheet in children:
            for row in self.rows(sheet):
                children[sheet][row.values["grant"]].append(row)
        self.children = children
        username = UnicodeUsernameValidator()
        for reference, row in self._unique("grants", "reference").items():
            self.file_grants[reference] = row
            v = row.values
            if reference in self.db_grants:
                self._held_grant(reference, row)
                continue
            if reference in self.all_grant_refs:
                self.add(
                    row,
                    "reference",
                    gettext("Grant %(reference)s exists already (a draft or hidden).")
                    % {"reference": reference},
                )
                continue
            if not REFERENCE_PATTERN.fullmatch(reference):
                self.add(row, "reference", gettext("A grant reference is SEETF-YYYY-NNNN."))
            leader = v["task_team_leader"]
            user = self.users.get(leader)
            if user is not None and Role.TASK_TEAM_LEADER not in user_roles(user):
                self.add(
                    row,
                    "task_team_leader",
                    gettext("User %(leader)s is not a task team leader.") % {"leader": leader},
                )
            elif user is None and leader:
                try:
                    username(leader)
                    if len(leader) > 150:
                        raise ValidationError(gettext("too long"))
                except ValidationError:
                    self.add(
                        row,
                        "task_team_leader",
                        gettext("'%(leader)s' is not a valid username.") % {"leader": leader},
                    )
            if v["sector"] and v["sector"] not in self.sectors:
                self.add(
                    row,
                    "sector",
                    gettext("Unknown sector %(sector)s (a DAC 5-digit code).")
                    % {"sector": v["sector"]},
                )
            self._countries(row, "recipient_countries")
            self._countries(row, "provider_countries")
            both = set(v["recipient_countries"]) & set(v["provider_countries"])
            if both:
                self.add(
                    row,
                    "provider_countries",
                    gettext("A country cannot both provide and receive in one grant: %(sorted)s.")
                    % {"sorted": ", ".join(sorted(both))},
                )
            for code in v["facilitating_partners"]:
                kind = self.file_partner_kinds.get(code, self.partner_kinds.get(code))
                if kind is None:
                    self.add(
                        row,
                        "facilitating_partners",
                        gettext("Unknown partner %(code)s.") % {"code": code},
                    )
                elif kind != PartnerKind.TRADITIONAL_DONOR:
                    self.add(
                        row,
                        "facilitating_partners",
                        gettext("%(code)s is not a traditional donor.") % {"code": code},
                    )
            unknown = sorted(set(v["targeted_outcomes"]) - OUTCOMES)
            if unknown:
                self.add(row, "targeted_outcomes", f"Unknown outcome(s): {', '.join(unknown)}.")
            requested = self._money(row, "requested_usd", limit=MAX_GRANT_USD)
            if v["planned_start"] and v["planned_end"] and v["planned_end"] < v["planned_start"]:
                self.add(
                    row,
                    "planned_end",
                    gettext("The planned end cannot be before the planned start."),
                )
            self._grant_dates(row)
            status = v["status"]
            if status in APPROVED_LINE:
                approved = self._money(row, "approved_usd", limit=MAX_GRANT_USD)
                if approved is None and v["approved_usd"] is None:
                    self.add(
                        row,
                        "approved_usd",
                        gettext("A grant %(status)s was approved: give the amount.")
                        % {"status": status},
                    )
                elif approved and requested and approved > requested:
                    self.add(
                        row,
                        "approved_usd",
                        gettext("Cannot approve more than the %(requested)s USD requested.")
                        % {"requested": f"{requested:,.2f}"},
                    )
                if self.actor is not None and self.actor.username == leader:
                    self.add(
                        row,
                        "task_team_leader",
                        gettext(
                            "A fund manager cannot approve a grant they lead: import it as another "
                            "fund manager."
                        ),
                    )
            elif v["approved_usd"] is not None:
                self.add(
                    row,
                    "approved_usd",
                    gettext("A grant %(status)s has no approved amount.") % {"status": status},
                )
            if not v["recipient_countries"] and status not in ENDED | REPORTED | {S.REJECTED}:
                self.add(
                    row, "recipient_countries", gettext("Name at least one recipient country.")
                )
            self.new_grants[reference] = row
        for sheet, by_grant in children.items():
            for reference, rows in by_grant.items():
                if reference in self.file_grants:
                    continue
                for r in rows:
                    held = reference in self.all_grant_refs
                    self.add(
                        r,
                        "grant",
                        gettext(
                            "Grant %(reference)s is held already: its %(replace)s come in with "
                            "its row."
                        )
                        % {"reference": reference, "replace": sheet.replace("_", " ")}
                        if held
                        else gettext("Unknown grant %(reference)s: add it to the grants sheet.")
                        % {"reference": reference},
                    )
        for reference, row in self.new_grants.items():
            self._grant_children(reference, row)

    def _held_grant(self, reference, row):
        same = self._compare(row, self.db_grants[reference], f"Grant {reference}")
        for sheet in self.children:
            names = next(s for s in SHEETS if s.name == sheet).names
            mine = _sorted_rows([r.values for r in self.children[sheet][reference]], names)
            held = _sorted_rows([_norm(r) for r in self.db_children[sheet][reference]], names)
            if same and mine != held:
                self.add(
                    row,
                    "reference",
                    gettext(
                        "Grant %(reference)s is held already with %(n_held)s %(replace)s "
                        "that differ from the file's %(n_mine)s. An import adds records, it "
                        "does not change them."
                    )
                    % {
                        "reference": reference,
                        "n_held": len(held),
                        "replace": sheet.replace("_", " "),
                        "n_mine": len(mine),
                    },
                )
                same = False
        if same:
            self.skipped["grants"] += 1
            for sheet in self.children:
                self.skipped[sheet] += len(self.children[sheet][reference])

    def _grant_dates(self, row):
        v = row.values
        status = v["status"]
        steps = [("created_on", True), ("submitted_on", True)]
        steps.append(("review_started_on", status in REVIEWED))
        steps.append(("decided_on", status in DECIDED))
        steps.append(("ended_on", status in ENDED))
        previous = None
        for name, required in steps:
            value = self._date(row, name, required=required)
            if value is None:
                continue
            if name == "review_started_on" and status == S.SUBMITTED:
                self.add(
                    row, name, gettext("A grant still submitted has not been taken into review.")
                )
            if name == "decided_on" and status not in DECIDED:
                self.add(
                    row,
                    name,
                    gettext("A grant %(status)s has not been decided.") % {"status": status},
                )
            if name == "ended_on" and status not in ENDED:
                self.add(
                    row,
                    name,
                    gettext("A grant %(status)s has not been closed or cancelled.")
                    % {"status": status},
                )
            if previous is not None and value < previous[1]:
                self.add(
                    row,
                    name,
                    gettext("Cannot be before %(field)s (%(date)s).")
                    % {"field": previous[0], "date": f"{previous[1]:%Y-%m-%d}"},
                )
            previous = (name, value)

    def _grant_children(self, reference, grant_row):
        g = grant_row.values
        status = g["status"]
        for r in self.children["exchanges"][reference]:
            v = r.values
            if v["start_date"] and v["end_date"] and v["end_date"] < v["start_date"]:
                self.add(r, "end_date", gettext("An exchange cannot end before it starts."))
            if v["women_participants"] > v["participants"]:
                self.add(r, "women_participants", gettext("Cannot be more than the participants."))
            self._countries(r, "provider_countries")
            self._countries(r, "recipient_countries")
            both = set(v["provider_countries"]) & set(v["recipient_countries"])
            if both:
                self.add(
                    r,
                    "provider_countries",
                    gettext("A country cannot both provide and receive: %(sorted)s.")
                    % {"sorted": ", ".join(sorted(both))},
                )
        disbursed = ZERO
        for r in self.children["disbursements"][reference]:
            if status not in APPROVED_LINE:
                self.add(
                    r,
                    "grant",
                    gettext("Grant %(reference)s is %(status)s: nothing is disbursed.")
                    % {"reference": reference, "status": status},
                )
                continue
            day = self._date(r, "disbursed_on", required=True)
            if day and g["decided_on"] and day < g["decided_on"]:
                self.add(
                    r,
                    "disbursed_on",
                    gettext("Before the grant's approval (%(decided_on)s).")
                    % {"decided_on": g["decided_on"]},
                )
            amount = self._money(r, "amount_usd")
            disbursed += amount or ZERO
            if g["approved_usd"] and disbursed > g["approved_usd"]:
                self.add(
                    r,
                    "amount_usd",
                    gettext(
                        "With this disbursement %(disbursed)s USD would be paid out of the "
                        "%(approved_usd)s USD approved (grants row %(number)s)."
                    )
                    % {
                        "disbursed": f"{disbursed:,.2f}",
                        "approved_usd": f"{g['approved_usd']:,.2f}",
                        "number": grant_row.number,
                    },
                )
        g["_disbursed"] = disbursed
        reports = self.children["completion_reports"][reference]
        for extra in reports[1:]:
            self.add(
                extra,
                "grant",
                gettext("Grant %(reference)s has one completion report (row %(number)s).")
                % {"reference": reference, "number": reports[0].number},
            )
        report = reports[0] if reports else None
        if status in REPORTED and report is None:
            self.add(
                grant_row,
                "status",
                gettext(
                    "A grant %(status)s has a submitted completion report: add it to the "
                    "completion_reports sheet."
                )
                % {"status": status},
            )
        if report is None:
            return
        r = report.values
        if status not in APPROVED_LINE - {S.CANCELLED}:
            self.add(
                report,
                "grant",
                gettext("Grant %(reference)s is %(status)s: it has no report.")
                % {"reference": reference, "status": status},
            )
            return
        unknown = sorted(set(r["outcomes_achieved"]) - OUTCOMES)
        if unknown:
            self.add(report, "outcomes_achieved", f"Unknown outcome(s): {', '.join(unknown)}.")
        results = []
        for line in (r["concrete_results"] or "").splitlines():
            if not line.strip():
                continue
            kind, _, text = line.partition(":")
            kind = kind.strip()
            if kind not in RESULT_KINDS or not text.strip():
                self.add(
                    report,
                    "concrete_results",
                    gettext("'%(value)s' is not 'kind: description' with a kind of: %(values)s.")
                    % {"value": line.strip()[:60], "values": ", ".join(ConcreteResultKind.values)},
                )
                continue
            results.append({"kind": kind, "description": text.strip()})
        r["_results"] = results
        if r["follow_up_needed"] and not r["follow_up_description"]:
            self.add(report, "follow_up_description", gettext("Say what follow-up is needed."))
        submitted = self._date(report, "submitted_on", required=status in REPORTED)
        accepted = self._date(report, "accepted_on", required=status == S.CLOSED)
        if status == S.APPROVED and submitted:
            self.add(
                report,
                "submitted_on",
                gettext("The grant is approved: its report is not yet submitted."),
            )
        if submitted and g["decided_on"] and submitted < g["decided_on"]:
            self.add(
                report,
                "submitted_on",
                gettext("Before the grant's approval (%(decided_on)s).")
                % {"decided_on": g["decided_on"]},
            )
        if accepted and not submitted:
            self.add(report, "accepted_on", gettext("A report is accepted once submitted."))
        elif accepted and submitted and accepted < submitted:
            self.add(report, "accepted_on", gettext("Cannot be before the report was submitted."))
        if g["ended_on"] and status == S.CLOSED and accepted and g["ended_on"] < accepted:
            grant_row and self.add(
                grant_row, "ended_on", gettext("A grant is closed after its report was accepted.")
            )
        g["_report"] = report

    # --- the fund's money, day by day -----------------------------------------------

    def plan(self) -> list[tuple]:
        """The events in the order they are replayed and written: (day, order, seq,
        kind, row)."""
        events = []
        seq = 0
        for reference, rows in self.receipts_of.items():
            if reference not in self.pledges:
                continue
            for r in rows:
                seq += 1
                events.append((r.values["received_on"] or date.min, RECEIPT, seq, "receipt", r))
        for row in self.file_grants.values():
            v = row.values
            status = v["status"]
            seq += 1
            if status in APPROVED_LINE:
                events.append((v["decided_on"] or date.min, APPROVAL, seq, "grant", row))
                if status in ENDED:
                    end = v["ended_on"] or date.min
                    events.append((end, RELEASE, seq, "grant-end", row))
                else:
                    events.append((v["decided_on"] or date.min, AFTER, seq, "grant-end", row))
            else:
                day = v["decided_on"] or v["review_started_on"] or v["submitted_on"] or date.min
                events.append((day, AFTER, seq, "grant", row))
        events.sort(key=lambda e: e[:3])
        return events

    def money(self, events) -> None:
        available = ZERO
        for day, _, _, kind, row in events:
            v = row.values
            if kind == "receipt":
                available += v["usd_amount"] or ZERO
            elif kind == "grant" and v["status"] in APPROVED_LINE:
                amount = v["approved_usd"] or ZERO
                if amount > available:
                    self.add(
                        row,
                        "approved_usd",
                        gettext(
                            "On %(day)s the fund had %(available)s USD available (the money "
                            "received by then, less what was committed): %(amount)s USD cannot "
                            "be approved. Add the receipts that came before it."
                        )
                        % {
                            "day": f"{day:%Y-%m-%d}",
                            "available": f"{available:,.2f}",
                            "amount": f"{amount:,.2f}",
                        },
                    )
                    v["_refused"] = True
                    continue
                available -= amount
            elif kind == "grant-end" and v["status"] in ENDED and not v.get("_refused"):
                disbursed = v.get("_disbursed")
                if disbursed is None:  # a grant held already
                    disbursed = sum(
                        (
                            r.values["amount_usd"] or ZERO
                            for r in self.children["disbursements"][v["reference"]]
                        ),
                        ZERO,
                    )
                available += (v["approved_usd"] or ZERO) - disbursed

    def run(self) -> list[tuple]:
        self.load()
        self.partners()
        self.contributions()
        self.grants()
        events = self.plan()
        self.money(events)
        return events


class _Refused(Exception):
    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


def _service(row: Row, column: str, call, *args, **kwargs):
    """Run a service for a row; its refusal becomes the row's problem."""
    try:
        return call(*args, **kwargs)
    except (ValidationError, ApplicationError, IntegrityError, DatabaseError) as exc:
        if isinstance(exc, ValidationError) and hasattr(exc, "message_dict"):
            column = next(iter(exc.message_dict), column)
        raise _Refused(Problem(row.sheet, row.number, column, _message(exc))) from exc


class _Write:
    """The writing pass: partners and pledges one by one (there are few), the new task
    team leaders, the grants whole in chunks (``results.services.grants_record_past``:
    every step checked by the workflow's rules, money counted), then the fund's ledger in
    date order: runs of receipts (``receipts_record_many``) and, between them, runs of
    decisions as one net move (``fund_commit`` or ``fund_release``); the disbursements
    last (``fund_disburse``)."""

    def __init__(self, check: _Check, actor):
        self.check = check
        self.actor = actor
        self.created: Counter = Counter()

    def run(self, events):
        c = self.check
        self.countries = {x.code: x for x in Country.objects.all()}
        self.sectors = {x.code: x for x in Sector.objects.all()}
        for row in c.new_partners:
            v = row.values
            _service(
                row,
                "code",
                partner_create,
                code=v["code"],
                name=v["name"],
                kind=v["kind"],
                country=self.countries.get(v["country"]) if v["country"] else None,
                joined_on=v["joined_on"],
            )
            self.created["partners"] += 1
        self.partners = {p.code: p for p in Partner.objects.all()}
        self.contributions = {}
        for reference, row in c.new_contributions.items():
            v = row.values
            self.contributions[reference] = _service(
                row,
                "reference",
                contribution_create,
                partner=self.partners[v["partner"]],
                reference=reference,
                currency=v["currency"],
                pledged_amount=v["pledged_amount"],
                pledged_usd=v["pledged_usd"],
                signed_on=v["signed_on"],
                period_start=v["period_start"],
                period_end=v["period_end"],
            )
            self.created["contributions"] += 1
        leaders = dict(c.users)
        new = {}
        for row in c.new_grants.values():
            name = row.values["task_team_leader"]
            if name not in leaders:
                new.setdefault(name, row)
        if new:
            leaders.update(
                _service(
                    next(iter(new.values())),
                    "task_team_leader",
                    users_create_many,
                    usernames=list(new),
                    role=Role.TASK_TEAM_LEADER,
                )
            )
            self.created["users"] += len(new)
        self.leaders = leaders
        # The grants first, whole (their rows do not depend on the ledger), in chunks.
        self.records: dict[str, PastGrant] = {}
        rows = [
            r
            for *_, event, r in events
            if event == "grant" and r.values["reference"] in c.new_grants
        ]
        for start in range(0, len(rows), GRANT_CHUNK):
            self.grants(rows[start : start + GRANT_CHUNK])
        # Then the money, in date order: the receipts, and between them the decisions
        # (approvals commit, cancellings and closings release), each run of decisions as
        # one net move under the ledger's lock. The check pass replayed every decision
        # one by one (available money never below zero at any approval); the ledger's
        # lock, its check and its CHECK constraints hold at each move.
        receipts, decisions = [], []
        for _day, _, _, event, row in events:
            if event == "receipt":
                if row.values.get("_held"):
                    continue
                if decisions:
                    self.decide(decisions)
                    decisions = []
                receipts.append(row)
                continue
            record = self.records.get(row.values["reference"])
            if record is None:
                continue  # a grant held already
            if (event == "grant" and record.committed) or (
                event == "grant-end" and record.released
            ):
                if receipts:
                    self.receive(receipts)
                    receipts = []
                decisions.append((event, row, record))
        if decisions:
            self.decide(decisions)
        if receipts:
            self.receive(receipts)
        # Paid out: within what stays committed to each grant, so at the end, in one move.
        disbursed = sum((r.disbursed for r in self.records.values()), ZERO)
        if disbursed:
            first = next(iter(self.records.values())).origin
            _service(first, "reference", fund_disburse, amount_usd=disbursed)

    def grants(self, rows: list[Row]) -> None:
        records = [self.record(r) for r in rows]
        try:
            grants_record_past(records=records, rating_required=False)
        except (ValidationError, ApplicationError) as exc:
            record = getattr(exc, "record", None) or records[0]
            raise _Refused(_problem(record.origin, "reference", exc)) from exc
        for record in records:
            self.records[record.reference] = record
            self.count(record)

    def decide(self, decisions: list) -> None:
        committed = sum((rec.committed for e, _, rec in decisions if e == "grant"), ZERO)
        released = sum((rec.released for e, _, rec in decisions if e == "grant-end"), ZERO)
        row = decisions[0][1]
        if committed > released:
            _service(row, "approved_usd", fund_commit, amount_usd=committed - released)
        elif released > committed:
            _service(row, "ended_on", fund_release, amount_usd=released - committed)

    def receive(self, rows: list[Row]) -> None:
        entries = [
            {
                "contribution": self.contributions[r.values["contribution"]],
                "amount": r.values["amount"],
                "usd_amount": r.values["usd_amount"],
                "received_on": r.values["received_on"],
            }
            for r in rows
        ]
        try:
            receipts_record_many(entries=entries, recorded_by=self.actor)
        except ValidationError as exc:
            row = rows[getattr(exc, "entry", 0)]
            raise _Refused(_problem(row, "amount", exc)) from exc
        self.created["receipts"] += len(rows)

    def count(self, record: PastGrant) -> None:
        self.created["grants"] += 1
        for step in record.steps:
            if step.kind in ("exchange", "disbursement"):
                self.created[f"{step.kind}s"] += 1
        if record.report is not None:
            self.created["completion_reports"] += 1

    def record(self, row: Row) -> PastGrant:
        """A grant row and its children as a PastGrant: its whole life, step by step."""
        c = self.check
        v = row.values
        reference = v["reference"]
        leader = self.leaders[v["task_team_leader"]]
        actor = self.actor
        status = v["status"]
        countries = self.countries
        steps = []

        def exchanges(user, day):
            for r in c.children["exchanges"][reference]:
                e = r.values
                steps.append(
                    PastStep(
                        "exchange",
                        user,
                        noon(day),
                        inputs={
                            "instrument": e["instrument"],
                            "title": e["title"],
                            "start_date": e["start_date"],
                            "end_date": e["end_date"],
                            "location": e["location"],
                            "participants": e["participants"],
                            "women_participants": e["women_participants"],
                            "status": e["status"],
                            "provider_countries": [countries[x] for x in e["provider_countries"]],
                            "recipient_countries": [countries[x] for x in e["recipient_countries"]],
                        },
                    )
                )

        if status not in APPROVED_LINE:
            exchanges(leader, v["created_on"])  # planned in the proposal
        steps.append(PastStep("submit", leader, noon(v["submitted_on"])))
        if v["review_started_on"]:
            steps.append(PastStep("start-review", actor, noon(v["review_started_on"])))
        decision = {S.RETURNED: "return", S.REJECTED: "reject"}.get(
            status, "approve" if status in APPROVED_LINE else None
        )
        if decision is not None:
            steps.append(
                PastStep(
                    decision,
                    actor,
                    noon(v["decided_on"]),
                    comment=v["decision_comment"],
                    inputs={"approved_usd": v["approved_usd"]} if decision == "approve" else {},
                )
            )
        report = None
        if status in APPROVED_LINE:
            exchanges(actor, v["decided_on"])
            for r in c.children["disbursements"][reference]:
                d = r.values
                steps.append(
                    PastStep(
                        "disbursement",
                        actor,
                        noon(d["disbursed_on"]),
                        inputs={
                            "amount_usd": d["amount_usd"],
                            "disbursed_on": d["disbursed_on"],
                            "purpose": d["purpose"],
                        },
                    )
                )
            report_row = v.get("_report")
            if report_row is not None:
                r = report_row.values
                report = {
                    "outcomes_achieved": list(r["outcomes_achieved"]),
                    "participants": r["participants"],
                    "rating": r["rating"],
                    "lessons": r["lessons"],
                    "follow_up_needed": r["follow_up_needed"],
                    "follow_up_description": r["follow_up_description"],
                    "concrete_results": r["_results"],
                }
                written = r["submitted_on"] or v["ended_on"] or v["decided_on"]
                steps.append(PastStep("report", leader, noon(written)))
                if r["submitted_on"]:
                    steps.append(PastStep("complete", leader, noon(r["submitted_on"])))
                if r["accepted_on"]:
                    steps.append(PastStep("accept-report", actor, noon(r["accepted_on"])))
            if status in ENDED:
                steps.append(
                    PastStep(
                        "close" if status == S.CLOSED else "cancel",
                        actor,
                        noon(v["ended_on"]),
                        comment=v["end_comment"],
                    )
                )
        return PastGrant(
            leader=leader,
            fields={
                "title": v["title"],
                "summary": v["summary"],
                "sector": self.sectors[v["sector"]],
                "region": v["region"],
                "recipient_countries": [countries[x] for x in v["recipient_countries"]],
                "provider_countries": [countries[x] for x in v["provider_countries"]],
                "facilitating_partners": [self.partners[x] for x in v["facilitating_partners"]],
                "recipient_endorsed_on": v["recipient_endorsed_on"],
                "requested_usd": v["requested_usd"],
                "development_goal": v["development_goal"],
                "targeted_outcomes": list(v["targeted_outcomes"]),
                "planned_start": v["planned_start"],
                "planned_end": v["planned_end"],
            },
            reference=reference,
            created_at=noon(v["created_on"]),
            steps=steps,
            recipients_required=False,
            report=report,
            origin=row,
        )


def _problem(row: Row, column: str, exc) -> Problem:
    if isinstance(exc, ValidationError) and hasattr(exc, "message_dict"):
        column = next(iter(exc.message_dict), column)
    return Problem(row.sheet, row.number, column, _message(exc))


def system_user():
    """The importing account of the command when no --user is given: a fund manager
    that cannot sign in (as load_review_2011's review2011_manager)."""
    User = get_user_model()
    user = User.objects.filter(username=SYSTEM_USER).first()
    if user is None:
        user = user_create_or_update(username=SYSTEM_USER, roles=[Role.FUND_MANAGER])
    return user


def import_portfolio(
    source, *, user=None, dry_run: bool = False, file_name: str = ""
) -> ImportResult:
    """Import ``source`` (a path to an .xlsx or a folder of CSV files, or an uploaded
    file) as ``user`` (a fund manager; None: the ``seetf-import`` account). Returns every
    problem found, or what was created (a dry run rolls it back)."""
    # Hundreds of thousands of cells become objects that live until the end: the
    # cyclic garbage collector would walk them all again and again (the import's time
    # grew faster than its size); nothing here makes cycles that need it.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _import(source, user=user, dry_run=dry_run, file_name=file_name)
    finally:
        if collecting:
            gc.enable()


def _import(source, *, user, dry_run: bool, file_name: str) -> ImportResult:
    started = time.perf_counter()
    result = ImportResult(dry_run=dry_run)
    if user is not None and not is_fund_manager(user):
        result.problems = [Problem("", 0, "", gettext("Only fund managers import a portfolio."))]
        return result
    try:
        rows, problems = read_source(source)
    except FileRefused as exc:
        result.problems = [exc.problem]
        return result
    check = _Check(rows, user)
    events = check.run()
    result.skipped = check.skipped
    result.problems = sorted(problems + check.problems, key=_problem_order)
    if result.problems:
        result.seconds = time.perf_counter() - started
        return result
    # One transaction: a refusal anywhere (``_Refused``) leaves it and rolls all of it
    # back, so the file is written whole or not at all. The services' own atomic blocks
    # keep their savepoints: the writes are in batches (a few hundred service calls for
    # 20,000 grants, two statements each), and the services' own recoveries inside a
    # transaction (get_or_create's, a reference's retry) need them.
    try:
        with transaction.atomic():
            actor = user or system_user()
            check.actor = actor
            writer = _Write(check, actor)
            writer.run(events)
            result.created = writer.created
            audit_record(
                actor=actor,
                action="portfolio.import",
                changes={
                    "file": file_name or str(source),
                    "created": dict(writer.created),
                    "unchanged": dict(check.skipped),
                },
                reason=f"Imported from {file_name or source}",
            )
            if dry_run:
                transaction.set_rollback(True)
            else:
                result.written = True
    except _Refused as exc:
        result.problems = [exc.problem]
        result.created = Counter()
    result.seconds = time.perf_counter() - started
    return result


_SHEET_ORDER = {s.name: i for i, s in enumerate(SHEETS)}


def _problem_order(p: Problem):
    return (_SHEET_ORDER.get(p.sheet, -1), p.row, p.column, p.message)
