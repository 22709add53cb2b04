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
from decimal import Decimal, InvalidOperation

import pycountry
from django.contrib.auth import get_user_model
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from audit.services import audit_record
from brokering.languages import is_language
from brokering.models import ExchangeRequest, Offer, OfferStatus, RequestStatus
from brokering.permissions import can_write_offers, can_write_requests
from brokering.references import REFERENCE_PATTERN as BROKERING_REFERENCE
from brokering.services import offers_record_past, requests_record_past
from grants.models import MAX_GRANT_USD, CapacityOutcome, Grant, GrantStatus, Instrument
from grants.references import REFERENCE_PATTERN
from grants.services import PastGrant, PastStep
from partners.models import (
    MAX_AMOUNT,
    Contribution,
    Country,
    Partner,
    PartnerKind,
    Sector,
    Window,
    WindowStatus,
)
from partners.roles import Role, is_fund_manager, is_window_manager, user_roles
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
    window_allocate,
    window_close,
    window_create,
    window_refusal,
    window_release,
)
from results.models import ConcreteResultKind
from results.services import grants_record_past
from seetf.common.errors import ApplicationError
from seetf.common.money import ZERO

from .reader import FileRefused, Problem, Row, read_source
from .records import (
    contribution_rows,
    grant_rows,
    offer_rows,
    partner_rows,
    request_rows,
    window_rows,
)
from .schema import SHEETS

SYSTEM_USER = "seetf-import"
S = GrantStatus
APPROVED_LINE = {S.APPROVED, S.COMPLETED, S.CLOSED, S.CANCELLED}
REVIEWED = {S.UNDER_REVIEW}
DECIDED = {S.RETURNED, S.REJECTED} | APPROVED_LINE
ENDED = {S.CLOSED, S.CANCELLED}
REPORTED = {S.COMPLETED, S.CLOSED}
PARTNER_CODE = re.compile(r"^[A-Z0-9_-]{2,16}$")
# Events on one day, in this order: money in, money given back, money moved into a
# window, money committed, the rest; then money moved out of a window and its closing.
RECEIPT, RELEASE, ALLOCATION, APPROVAL, AFTER, WINDOW_OUT = 0, 1, 2, 3, 4, 5
INSTRUMENTS = frozenset(Instrument.values)
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
        # The sheets are named as in the workbook, whatever the language.
        text = ", ".join(parts) or gettext("nothing new")
        if skipped:
            text += gettext(" (held already, unchanged: %(sheets)s)") % {
                "sheets": ", ".join(skipped)
            }
        return text


def noon(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, clock(12, 0)))


def _as_open(window: Window) -> Window:
    """A window held already, as it was when it took proposals (open)."""
    copy = Window(
        code=window.code,
        region=window.region,
        max_grant_usd=window.max_grant_usd,
        opens_on=window.opens_on,
        closes_on=window.closes_on,
        status=WindowStatus.OPEN,
    )
    return copy


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
        window_codes = [r.values["code"] for r in self.rows("windows")]
        windows, movements = window_rows(codes=window_codes)
        self.db_windows = {w["code"]: w for w in windows}
        self.db_movements = defaultdict(list)
        for m in movements:
            self.db_movements[m["window"]].append(m)
        self.all_windows = {w.code: w for w in Window.objects.prefetch_related("sectors")}
        self.country_regions = dict(Country.objects.values_list("code", "region"))
        self.db_offers = {
            o["reference"]: o
            for o in offer_rows(references=[r.values["reference"] for r in self.rows("offers")])
        }
        self.db_requests = {
            o["reference"]: o
            for o in request_rows(references=[r.values["reference"] for r in self.rows("requests")])
        }
        self.all_offers = dict(Offer.objects.exclude(reference=None).values_list("reference", "id"))
        self.all_requests = set(
            ExchangeRequest.objects.exclude(reference=None).values_list("reference", flat=True)
        )
        usernames = {r.values["task_team_leader"] for r in self.rows("grants")}
        usernames |= {r.values["created_by"] for r in self.rows("offers")}
        usernames |= {r.values["requested_by"] for r in self.rows("requests")}
        for row in self.rows("windows"):
            row.values["_approvers"] = self._approvers(row)
            usernames |= {name for name, _ in row.values["_approvers"]}
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
                self.add(row, name, gettext("Required."))
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

    def _approvers(self, row) -> list[tuple[str, object]]:
        """The 'username: limit' lines of a window's approvers (their problems found
        with the window's other checks)."""
        found = []
        for line in (row.values["approvers"] or "").splitlines():
            if not line.strip():
                continue
            name, _, limit = line.partition(":")
            try:
                amount = Decimal(limit.strip())
                if not amount.is_finite():
                    raise InvalidOperation
            except InvalidOperation:
                amount = None
            found.append((name.strip(), amount))
        return found

    def _username(self, row, column: str, name: str) -> None:
        try:
            UnicodeUsernameValidator()(name)
            if len(name) > 150:
                raise ValidationError("too long")
        except ValidationError:
            self.add(row, column, gettext("'%(name)s' is not a valid username.") % {"name": name})

    def _sectors(self, row, name="sectors"):
        unknown = [c for c in row.values[name] if c not in self.sectors]
        if unknown:
            self.add(
                row,
                name,
                gettext("Unknown sector(s): %(unknown)s (DAC 5-digit codes).")
                % {"unknown": ", ".join(unknown)},
            )

    # --- the sheets ----------------------------------------------------------------

    def partners(self):
        self.new_partners: list[Row] = []
        self.file_partner_kinds = {}
        names = {}
        for code, row in self._unique("partners", "code").items():
            v = row.values
            self.file_partner_kinds[code] = v["kind"]
            if code in self.db_partners:
                if self._compare(
                    row, self.db_partners[code], gettext("Partner %(code)s") % {"code": code}
                ):
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
                same = self._compare(
                    row, held, gettext("Contribution %(reference)s") % {"reference": reference}
                )
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

    def windows(self):
        """The windows (new ones checked by the window services' rules) and their
        movements; ``self.file_windows``: code -> an unsaved Window of its rules, open,
        which the grants' fit is judged against (``window_refusal``)."""
        self.new_windows: dict[str, Row] = {}
        self.file_windows: dict[str, Window] = {}
        self.window_rows: dict[str, Row] = {}
        movements = defaultdict(list)
        for row in self.rows("window_movements"):
            movements[row.values["window"]].append(row)
        self.movements_of = movements
        for code, row in self._unique("windows", "code").items():
            v = row.values
            self.window_rows[code] = row
            if v["status"] == WindowStatus.CLOSED and v["closed_on"] is None:
                self.add(row, "closed_on", gettext("A closed window: give the day it was closed."))
            if v["status"] == WindowStatus.OPEN and v["closed_on"] is not None:
                self.add(row, "closed_on", gettext("An open window has not been closed."))
            window = Window(
                code=code,
                name=v["name"],
                kind=v["kind"],
                region=v["region"],
                max_grant_usd=v["max_grant_usd"] or MAX_AMOUNT,
                opens_on=v["opens_on"] or date.min,
                closes_on=v["closes_on"] or date.max,
                status=WindowStatus.OPEN,
            )
            window._sector_ids = set(v["sectors"])
            self.file_windows[code] = window
            if code in self.db_windows:
                held = {k: x for k, x in self.db_windows[code].items()}
                same = self._compare(row, held, gettext("Window %(code)s") % {"code": code})
                names = ("kind", "moved_on", "amount_usd", "reason")
                if same and _sorted_rows([r.values for r in movements[code]], names) != (
                    _sorted_rows([_norm(m) for m in self.db_movements[code]], names)
                ):
                    self.add(
                        row,
                        "code",
                        gettext(
                            "Window %(code)s is held already with %(held)s movement(s) that "
                            "differ from the file's %(given)s. An import adds records, it does "
                            "not change them."
                        )
                        % {
                            "code": code,
                            "held": len(self.db_movements[code]),
                            "given": len(movements[code]),
                        },
                    )
                    same = False
                if same:
                    self.skipped["windows"] += 1
                    self.skipped["window_movements"] += len(movements[code])
                    for r in movements[code]:
                        r.values["_held"] = True
                    v["_held"] = True
                continue
            if code in self.all_windows:
                self.add(row, "code", gettext("Window %(code)s exists already.") % {"code": code})
                continue
            if not PARTNER_CODE.match(code):
                self.add(row, "code", gettext("Use 2-16 capitals, digits, - or _."))
            self._sectors(row)
            self._money(row, "max_grant_usd")
            if v["opens_on"] and v["closes_on"] and v["closes_on"] < v["opens_on"]:
                self.add(row, "closes_on", gettext("A window cannot close before it opens."))
            created_on = self._date(row, "created_on", required=True)
            closed_on = self._date(row, "closed_on")
            if created_on and closed_on and closed_on < created_on:
                self.add(row, "closed_on", gettext("Cannot be before the window was created."))
            seen = set()
            for name, limit in v["_approvers"]:
                if not name or limit is None:
                    self.add(
                        row,
                        "approvers",
                        gettext("'%(name)s: ...' is not 'username: limit in USD'.")
                        % {"name": name},
                    )
                    continue
                if name in seen:
                    self.add(row, "approvers", gettext("%(name)s is named twice.") % {"name": name})
                seen.add(name)
                if limit <= 0 or limit > MAX_AMOUNT or limit != limit.quantize(Decimal("0.01")):
                    self.add(
                        row,
                        "approvers",
                        gettext("The limit of %(name)s must be a positive amount.")
                        % {"name": name},
                    )
                user = self.users.get(name)
                if user is None:
                    self._username(row, "approvers", name)
                elif not is_window_manager(user):
                    self.add(
                        row,
                        "approvers",
                        gettext(
                            "User %(name)s is not a window manager: an approver holds the "
                            "window_manager role."
                        )
                        % {"name": name},
                    )
            self.new_windows[code] = row
        for code, rows in movements.items():
            window_row = self.window_rows.get(code)
            if window_row is None:
                for r in rows:
                    self.add(
                        r,
                        "window",
                        (
                            gettext(
                                "Window %(code)s is held already: its movements come in with "
                                "its row."
                            )
                            if code in self.all_windows
                            else gettext("Unknown window %(code)s: add it to the windows sheet.")
                        )
                        % {"code": code},
                    )
                continue
            if code not in self.new_windows:
                continue
            w = window_row.values
            for r in rows:
                day = self._date(r, "moved_on", required=True)
                self._money(r, "amount_usd")
                if day and w["created_on"] and day < w["created_on"]:
                    self.add(
                        r,
                        "moved_on",
                        gettext("Before the window was created (%(date)s).")
                        % {"date": w["created_on"]},
                    )
                if day and w["closed_on"] and day > w["closed_on"]:
                    self.add(
                        r,
                        "moved_on",
                        gettext("After the window was closed (%(date)s).")
                        % {"date": w["closed_on"]},
                    )

    def _window_fit(self, row):
        """A grant's window: known, and the grant fits it when submitted (the window's
        rules, ``window_refusal``, at the submission's date)."""
        v = row.values
        code = v["window"]
        if not code:
            return
        window = self.file_windows.get(code)
        if window is None:
            if code in self.all_windows:
                window = self.all_windows[code]
                window._sector_ids = {s.code for s in window.sectors.all()}
            else:
                self.add(
                    row,
                    "window",
                    gettext("Unknown window %(code)s: add it to the windows sheet.")
                    % {"code": code},
                )
                return
        v["_window"] = window
        day = v["submitted_on"]
        closed = self.window_rows.get(code) and self.window_rows[code].values["closed_on"]
        if day and closed and day > closed:
            self.add(
                row,
                "window",
                gettext("The window %(code)s was closed on %(date)s.")
                % {"code": code, "date": f"{closed:%Y-%m-%d}"},
            )
            return
        refusal = window_refusal(
            window if code in self.file_windows else _as_open(window),
            region=v["region"],
            sector_id=v["sector"],
            recipient_regions={
                c: self.country_regions.get(c, "") for c in v["recipient_countries"]
            },
            requested_usd=v["requested_usd"],
            on=day,
            sector_ids=window._sector_ids,
        )
        if refusal:
            self.add(row, "window", refusal)

    def _author(self, row, column: str, rule) -> None:
        name = row.values[column]
        user = self.users.get(name)
        if user is None:
            if name:
                self._username(row, column, name)
            return
        allowed, reason = rule(user)
        if not allowed:
            self.add(
                row, column, gettext("User %(name)s: %(reason)s") % {"name": name, "reason": reason}
            )

    def _brokered(self, row, prefix: str) -> None:
        v = row.values
        match = BROKERING_REFERENCE.fullmatch(v["reference"])
        if match is None or match.group(1) != prefix:
            self.add(
                row,
                "reference",
                gettext("A reference is %(prefix)s-YYYY-NNNN.") % {"prefix": prefix},
            )
        self._sectors(row)
        unknown = sorted(set(v["instruments"]) - INSTRUMENTS)
        if unknown:
            self.add(
                row,
                "instruments",
                gettext("Unknown instrument(s): %(unknown)s.") % {"unknown": ", ".join(unknown)},
            )
        bad = sorted(c for c in v["languages"] if not is_language(c))
        if bad:
            self.add(
                row,
                "languages",
                gettext("Not ISO 639-1 language code(s): %(bad)s (two lower-case letters).")
                % {"bad": ", ".join(bad)},
            )
        self._date(row, "created_on", required=True)

    def offers(self):
        self.new_offers: dict[str, Row] = {}
        self.file_offers: dict[str, Row] = {}
        email = EmailValidator()
        for reference, row in self._unique("offers", "reference").items():
            v = row.values
            self.file_offers[reference] = row
            if reference in self.db_offers:
                if self._compare(
                    row,
                    self.db_offers[reference],
                    gettext("Offer %(reference)s") % {"reference": reference},
                ):
                    self.skipped["offers"] += 1
                continue
            if reference in self.all_offers:
                self.add(
                    row,
                    "reference",
                    gettext("Offer %(reference)s exists already.") % {"reference": reference},
                )
                continue
            self._brokered(row, "OFR")
            country = v["provider_country"]
            if country and country not in self.countries:
                self.add(
                    row,
                    "provider_country",
                    gettext(
                        "Unknown country code %(country)s (ISO 3166 alpha-3; see the codes sheet)."
                    )
                    % {"country": country},
                )
            if not 1 <= v["capacity_per_year"] <= 1000:
                self.add(row, "capacity_per_year", gettext("Between 1 and 1000 exchanges a year."))
            try:
                email(v["contact_email"])
            except ValidationError:
                self.add(
                    row,
                    "contact_email",
                    gettext("'%(email)s' is not an e-mail address.")
                    % {"email": v["contact_email"]},
                )
            self._author(row, "created_by", can_write_offers)
            self.new_offers[reference] = row

    def requests(self):
        self.new_requests: dict[str, Row] = {}
        for reference, row in self._unique("requests", "reference").items():
            v = row.values
            if reference in self.db_requests:
                if self._compare(
                    row,
                    self.db_requests[reference],
                    gettext("Request %(reference)s") % {"reference": reference},
                ):
                    self.skipped["requests"] += 1
                continue
            if reference in self.all_requests:
                self.add(
                    row,
                    "reference",
                    gettext("Request %(reference)s exists already.") % {"reference": reference},
                )
                continue
            self._brokered(row, "REQ")
            country = v["recipient_country"]
            if country and country not in self.countries:
                self.add(
                    row,
                    "recipient_country",
                    gettext(
                        "Unknown country code %(country)s (ISO 3166 alpha-3; see the codes sheet)."
                    )
                    % {"country": country},
                )
            self._date(row, "endorsed_on")
            self._author(row, "requested_by", can_write_requests)
            matched = v["status"] == RequestStatus.MATCHED
            if not matched:
                for name in ("offer", "grant", "matched_on"):
                    if v[name]:
                        self.add(
                            row,
                            name,
                            gettext("A request %(status)s has no match.") % {"status": v["status"]},
                        )
            else:
                for name in ("offer", "grant", "matched_on"):
                    if not v[name]:
                        self.add(
                            row, name, gettext("A matched request names its offer, grant and day.")
                        )
                offer = self.file_offers.get(v["offer"])
                if v["offer"] and offer is None and v["offer"] not in self.all_offers:
                    self.add(
                        row,
                        "offer",
                        gettext("Unknown offer %(reference)s: add it to the offers sheet.")
                        % {"reference": v["offer"]},
                    )
                elif offer is not None:
                    o = offer.values
                    if o["status"] != OfferStatus.PUBLISHED:
                        self.add(row, "offer", gettext("Only a published offer can be matched."))
                    if o["provider_country"] and o["provider_country"] == country:
                        self.add(
                            row,
                            "offer",
                            gettext(
                                "The offer %(offer)s comes from %(country)s, the recipient "
                                "country itself."
                            )
                            % {"offer": v["offer"], "country": country},
                        )
                grant = v["grant"]
                if grant and grant not in self.file_grants and grant not in self.all_grant_refs:
                    self.add(
                        row,
                        "grant",
                        gettext("Unknown grant %(reference)s: add it to the grants sheet.")
                        % {"reference": grant},
                    )
                day = self._date(row, "matched_on")
                if day and v["created_on"] and day < v["created_on"]:
                    self.add(
                        row, "matched_on", gettext("Cannot be before the request was created.")
                    )
            self.new_requests[reference] = row
        grants = defaultdict(list)
        for row in self.new_requests.values():
            if row.values["grant"]:
                grants[row.values["grant"]].append(row)
        for rows in grants.values():
            for extra in rows[1:]:
                self.add(
                    extra,
                    "grant",
                    gettext("Grant %(grant)s is the match of another request (row %(number)s).")
                    % {"grant": extra.values["grant"], "number": rows[0].number},
                )

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
            self._window_fit(row)
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
                self.add(
                    row,
                    "targeted_outcomes",
                    gettext("Unknown outcome(s): %(unknown)s.") % {"unknown": ", ".join(unknown)},
                )
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
        same = self._compare(
            row,
            self.db_grants[reference],
            gettext("Grant %(reference)s") % {"reference": reference},
        )
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
            self.add(
                report,
                "outcomes_achieved",
                gettext("Unknown outcome(s): %(unknown)s.") % {"unknown": ", ".join(unknown)},
            )
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
        for code, rows in self.movements_of.items():
            if code not in self.window_rows:
                continue
            for r in rows:
                seq += 1
                day = r.values["moved_on"] or date.min
                if r.values["kind"] == "allocation":
                    events.append((day, ALLOCATION, seq, "allocation", r))
                else:
                    events.append((day, WINDOW_OUT, seq, "window-release", r))
        for row in self.window_rows.values():
            if row.values["closed_on"] is not None:
                seq += 1
                events.append((row.values["closed_on"], WINDOW_OUT, seq, "window-close", row))
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
        """The fund's and the windows' money replayed in date order (as the services
        move it: ``window_allocate``, ``window_release``, ``window_close``,
        ``fund_commit`` and ``fund_release`` for a window's grant)."""
        available = ZERO
        # Code -> [available, closed]; the windows held already are the services' to
        # judge when the file's new grants are written.
        windows = {code: [ZERO, False] for code in self.new_windows}
        for day, _, _, kind, row in events:
            v = row.values
            if kind == "allocation":
                code = v["window"]
                if code not in windows or v.get("_held"):
                    continue
                amount = v["amount_usd"] or ZERO
                if amount > available:
                    self.add(
                        row,
                        "amount_usd",
                        gettext(
                            "On %(day)s the fund had %(available)s USD available: %(amount)s "
                            "USD cannot be allocated to the window %(code)s."
                        )
                        % {
                            "day": f"{day:%Y-%m-%d}",
                            "available": f"{available:,.2f}",
                            "amount": f"{amount:,.2f}",
                            "code": code,
                        },
                    )
                    continue
                available -= amount
                windows[code][0] += amount
                continue
            if kind == "window-release":
                code = v["window"]
                if code not in windows or v.get("_held"):
                    continue
                amount = v["amount_usd"] or ZERO
                if amount > windows[code][0]:
                    self.add(
                        row,
                        "amount_usd",
                        gettext(
                            "On %(day)s the window %(code)s had %(available)s USD available: "
                            "%(amount)s USD cannot be released."
                        )
                        % {
                            "day": f"{day:%Y-%m-%d}",
                            "code": code,
                            "available": f"{windows[code][0]:,.2f}",
                            "amount": f"{amount:,.2f}",
                        },
                    )
                    continue
                windows[code][0] -= amount
                available += amount
                continue
            if kind == "window-close":
                if v["code"] in windows:
                    available += windows[v["code"]][0]
                    windows[v["code"]] = [ZERO, True]
                continue
            code = v.get("window") if kind != "receipt" else None
            window = windows.get(code) if code else None
            if kind == "receipt":
                available += v["usd_amount"] or ZERO
            elif kind == "grant" and v["status"] in APPROVED_LINE and window is not None:
                amount = v["approved_usd"] or ZERO
                if window[1]:
                    self.add(
                        row,
                        "window",
                        gettext(
                            "The window %(code)s was closed before %(day)s: a grant is approved "
                            "in an open window."
                        )
                        % {"code": code, "day": f"{day:%Y-%m-%d}"},
                    )
                    v["_refused"] = True
                elif amount > window[0]:
                    self.add(
                        row,
                        "approved_usd",
                        gettext(
                            "On %(day)s the window %(code)s had %(available)s USD available: "
                            "%(amount)s USD cannot be approved. Allocate to the window before "
                            "it (window_movements)."
                        )
                        % {
                            "day": f"{day:%Y-%m-%d}",
                            "code": code,
                            "available": f"{window[0]:,.2f}",
                            "amount": f"{amount:,.2f}",
                        },
                    )
                    v["_refused"] = True
                else:
                    window[0] -= amount
            elif (
                kind == "grant-end"
                and v["status"] in ENDED
                and not v.get("_refused")
                and window is not None
            ):
                back = (v["approved_usd"] or ZERO) - (v.get("_disbursed") or ZERO)
                if window[1]:
                    available += back
                else:
                    window[0] += back
            elif code and code in self.all_windows and code not in windows:
                continue  # a window held already: the services judge
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
        self.windows()
        self.grants()
        self.offers()
        self.requests()
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
        # New users: the grants' leaders and the offers' and requests' authors as task
        # team leaders, the windows' approvers as window managers (no usable password).
        users = dict(c.users)
        for role, names in (
            (
                Role.TASK_TEAM_LEADER,
                [r.values["task_team_leader"] for r in c.new_grants.values()]
                + [r.values["created_by"] for r in c.new_offers.values()]
                + [r.values["requested_by"] for r in c.new_requests.values()],
            ),
            (
                Role.WINDOW_MANAGER,
                [n for r in c.new_windows.values() for n, _ in r.values["_approvers"]],
            ),
        ):
            new = [n for n in dict.fromkeys(names) if n not in users]
            if new:
                users.update(
                    _service(
                        Row("", 0, {}),
                        "",
                        users_create_many,
                        usernames=new,
                        role=role,
                        actor=self.actor,
                    )
                )
                self.created["users"] += len(new)
        self.leaders = self.users = users
        # The windows (their rules and approvers, at their creation's date).
        self.windows = {}
        for code, row in c.new_windows.items():
            v = row.values
            self.windows[code] = _service(
                row,
                "code",
                window_create,
                user=self.actor,
                code=code,
                name=v["name"],
                kind=v["kind"],
                region=v["region"],
                sectors=[self.sectors[x] for x in v["sectors"]],
                max_grant_usd=v["max_grant_usd"],
                opens_on=v["opens_on"],
                closes_on=v["closes_on"],
                approvers=[{"user": users[n], "limit_usd": lim} for n, lim in v["_approvers"]],
                at=noon(v["created_on"]),
            )
            self.created["windows"] += 1
        for code, window in c.all_windows.items():
            self.windows.setdefault(code, window)
        for window in self.windows.values():
            window._sector_ids = {s.code for s in window.sectors.all()}
        # The grants first, whole (their rows do not depend on the ledger), in chunks.
        self.records: dict[str, PastGrant] = {}
        rows = [
            r
            for *_, event, r in events
            if event == "grant" and r.values["reference"] in c.new_grants
        ]
        for start in range(0, len(rows), GRANT_CHUNK):
            self.grants(rows[start : start + GRANT_CHUNK])
        # Then the money, in date order: the receipts, the windows' movements, and
        # between them the decisions (approvals commit, cancellings and closings
        # release), each run of decisions as one net move per window (and the fund's)
        # under the ledger's lock. The check pass replayed every decision one by one
        # (available money never below zero at any approval); the ledger's lock, its
        # check and its CHECK constraints hold at each move.
        self.closed: set[int] = set()
        receipts, decisions = [], []
        for day, _, _, event, row in events:
            if event == "receipt":
                if row.values.get("_held"):
                    continue
                if decisions:
                    self.decide(decisions)
                    decisions = []
                receipts.append(row)
                continue
            if event in ("allocation", "window-release", "window-close"):
                code = row.values["window" if event != "window-close" else "code"]
                if code not in c.new_windows or row.values.get("_held"):
                    continue
                if decisions:
                    self.decide(decisions)
                    decisions = []
                if receipts:
                    self.receive(receipts)
                    receipts = []
                self.move(event, row, self.windows[code], day)
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
                decisions.append((event, row, record, day))
        if decisions:
            self.decide(decisions)
        if receipts:
            self.receive(receipts)
        # Paid out: within what stays committed to each grant, so at the end, in one move
        # for the fund's grants and one for each window's.
        disbursed = defaultdict(lambda: ZERO)
        for record in self.records.values():
            disbursed[record.grant.window_id] += record.disbursed
        first = next(iter(self.records.values()), None)
        for window_id, amount in disbursed.items():
            if amount:
                _service(
                    first.origin, "reference", fund_disburse, amount_usd=amount, window_id=window_id
                )
        self.brokering()

    def move(self, event: str, row: Row, window: Window, day: date) -> None:
        v = row.values
        if event == "window-close":
            _service(row, "closed_on", window_close, window=window, user=self.actor, at=noon(day))
            self.closed.add(window.pk)
            return
        call = window_allocate if event == "allocation" else window_release
        _service(
            row,
            "amount_usd",
            call,
            window=window,
            user=self.actor,
            amount_usd=v["amount_usd"],
            reason=v["reason"],
            at=noon(day),
        )
        self.created["window_movements"] += 1

    def brokering(self) -> None:
        """The offers, then the requests (a match names an offer and a grant)."""
        c = self.check
        entries = []
        for row in c.new_offers.values():
            v = row.values
            entries.append(
                {
                    "user": self.users[v["created_by"]],
                    "reference": v["reference"],
                    "title": v["title"],
                    "description": v["description"],
                    "provider_country": self.countries[v["provider_country"]],
                    "institution": v["institution"],
                    "sectors": [self.sectors[x] for x in v["sectors"]],
                    "instruments": list(v["instruments"]),
                    "languages": list(v["languages"]),
                    "capacity_per_year": v["capacity_per_year"],
                    "contact_name": v["contact_name"],
                    "contact_email": v["contact_email"],
                    "status": v["status"],
                    "created_at": noon(v["created_on"]),
                }
            )
        rows = list(c.new_offers.values())
        if entries:
            try:
                offers_record_past(entries=entries)
            except (ValidationError, ApplicationError) as exc:
                raise _Refused(_problem(rows[getattr(exc, "entry", 0)], "reference", exc)) from exc
            self.created["offers"] += len(entries)
        requests = list(c.new_requests.values())
        if not requests:
            return
        wanted_offers = {r.values["offer"] for r in requests if r.values["offer"]}
        offers = {o.reference: o for o in Offer.objects.filter(reference__in=wanted_offers)}
        wanted_grants = {r.values["grant"] for r in requests if r.values["grant"]}
        grants = {
            g.reference: g
            for g in Grant.objects.filter(reference__in=wanted_grants).select_related(
                "brokered_match"
            )
        }
        entries = []
        for row in requests:
            v = row.values
            match = None
            if v["status"] == RequestStatus.MATCHED:
                match = {
                    "offer": offers[v["offer"]],
                    "grant": grants[v["grant"]],
                    "matched_by": self.actor,
                    "matched_at": noon(v["matched_on"]),
                }
            entries.append(
                {
                    "user": self.users[v["requested_by"]],
                    "reference": v["reference"],
                    "title": v["title"],
                    "description": v["description"],
                    "recipient_country": self.countries[v["recipient_country"]],
                    "sectors": [self.sectors[x] for x in v["sectors"]],
                    "instruments": list(v["instruments"]),
                    "languages": list(v["languages"]),
                    "needed_by": v["needed_by"],
                    "endorsed_on": v["endorsed_on"],
                    "status": v["status"],
                    "created_at": noon(v["created_on"]),
                    "match": match,
                }
            )
        try:
            requests_record_past(entries=entries)
        except (ValidationError, ApplicationError) as exc:
            raise _Refused(_problem(requests[getattr(exc, "entry", 0)], "reference", exc)) from exc
        self.created["requests"] += len(entries)

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
        """A run of decisions: one net move for the fund's grants and one for each open
        window's; a release of a closed window's grant goes back to the fund through
        the window, one ``grant_return`` each, at its date."""
        by_window = defaultdict(list)
        for decision in decisions:
            window_id = decision[2].grant.window_id
            if window_id in self.closed and decision[0] == "grant-end":
                _, row, record, day = decision
                _service(
                    row,
                    "ended_on",
                    fund_release,
                    amount_usd=record.released,
                    window_id=window_id,
                    by=self.actor,
                    reason=f"{record.reference}: {record.grant.status}",
                    at=noon(day),
                )
                continue
            by_window[window_id].append(decision)
        for window_id, run in by_window.items():
            committed = sum((rec.committed for e, _, rec, _ in run if e == "grant"), ZERO)
            released = sum((rec.released for e, _, rec, _ in run if e == "grant-end"), ZERO)
            row = run[0][1]
            if committed > released:
                _service(
                    row,
                    "approved_usd",
                    fund_commit,
                    amount_usd=committed - released,
                    window_id=window_id,
                )
            elif released > committed:
                _service(
                    row,
                    "ended_on",
                    fund_release,
                    amount_usd=released - committed,
                    window_id=window_id,
                    by=self.actor,
                    reason="Imported decisions",
                    at=noon(run[0][3]),
                )

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
                "window": self.windows[v["window"]] if v["window"] else None,
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
