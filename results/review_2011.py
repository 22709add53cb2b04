"""The 21 completed projects of the 2011 review's Annex D, as closed grants with their
capacity outcomes, and the six exchanges its boxes describe, with their countries.

Facts come from the project's copies of the review's tables (results/data/review_2011/)
and the sector mapping in partners/data/review_sectors.csv. The review gives neither the
grants' amounts nor their dates: each gets the review's average grant, 100,000 USD,
fully disbursed, and dates in 2009-2010 (marked as approximate in its summary). Money
moves through the fund's ledger services, so the fund summary stays consistent with
Annex C. Idempotent: a project already loaded is left alone.
"""

import csv
import json
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction

from grants.models import (
    Disbursement,
    Exchange,
    ExchangeStatus,
    Grant,
    GrantHistory,
    GrantStatus,
    report_dates,
)
from grants.references import next_grant_reference
from partners.models import Country, Sector
from partners.reference_data import read_csv
from partners.roles import Role
from partners.services import fund_commit, fund_disburse, user_create_or_update

from .models import OUTCOME_FIELDS, CompletionReport, ConcreteResult
from .services import ex_post_checks_create

DATA = Path(__file__).resolve().parent / "data" / "review_2011"
SYSTEM_LEADER = "review2011"
SYSTEM_MANAGER = "review2011_manager"
GRANT_USD = Decimal("100000.00")
START, END = date(2009, 7, 1), date(2010, 6, 30)


def _at(day: date) -> datetime:
    return datetime.combine(day, time(12, 0), tzinfo=UTC)


def _system_users():
    """The review's grants are recorded under two accounts that cannot log in."""
    User = get_user_model()
    users = []
    for username, role in (
        (SYSTEM_LEADER, Role.TASK_TEAM_LEADER),
        (SYSTEM_MANAGER, Role.FUND_MANAGER),
    ):
        user = User.objects.filter(username=username).first()
        if user is None:
            user = user_create_or_update(username=username, roles=[role])
            user.set_unusable_password()
            user.save(update_fields=["password"])
        users.append(user)
    return users


def annex_d_rows() -> list[dict]:
    with open(DATA / "annex_d_capacity_outcomes.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def box_exchanges() -> dict[str, dict]:
    with open(DATA / "box_exchanges.json", encoding="utf-8") as f:
        return {entry["title"]: entry for entry in json.load(f)}


def review_exchange_facts() -> dict[str, dict]:
    with open(DATA / "review_exchanges.csv", newline="", encoding="utf-8") as f:
        return {row["title"]: row for row in csv.DictReader(f)}


@transaction.atomic
def load_review_projects() -> dict:
    leader, manager = _system_users()
    sectors = {row["keyword"]: row["code"] for row in read_csv("review_sectors.csv")}
    boxes = box_exchanges()
    facts = review_exchange_facts()
    created = {"grants": 0, "exchanges": 0}
    for row in annex_d_rows():
        title = row["project"]
        if Grant.objects.filter(title=title, task_team_leader=leader).exists():
            continue
        box = boxes.get(title)
        fact = facts.get(title)
        if box:
            summary = (
                f"Described in the 2011 review: {fact['outcome_summary']}. "
                "Amount and dates are approximate (the review gives neither)."
            )
        else:
            summary = (
                "One of the 21 completed projects the 2011 review examined in depth (Annex D). "
                "The review records its capacity outcomes but not its countries, amount or "
                "dates: those here are approximate."
            )
        grant = Grant.objects.create(
            title=title,
            summary=summary,
            task_team_leader=leader,
            sector=Sector.objects.get(code=sectors[title.lower()]),
            region=box["region"] if box else "OTH",
            requested_usd=GRANT_USD,
            approved_usd=GRANT_USD,
            disbursed_usd=GRANT_USD,
            status=GrantStatus.CLOSED,
            targeted_outcomes=[name for name in OUTCOME_FIELDS if row[name] == "1"],
            planned_start=START,
            planned_end=END,
            reference=next_grant_reference(2009),
            submitted_at=_at(date(2009, 5, 4)),
            decided_at=_at(date(2009, 6, 1)),
        )
        grant.completion_report_due = grant.compute_completion_report_due()
        grant.save(update_fields=["completion_report_due"])
        if box:
            grant.recipient_countries.set(Country.objects.filter(code__in=box["recipients"]))
            grant.provider_countries.set(Country.objects.filter(code__in=box["providers"]))
        fund_commit(amount_usd=GRANT_USD)
        fund_disburse(amount_usd=GRANT_USD)
        Disbursement.objects.create(
            grant=grant,
            amount_usd=GRANT_USD,
            disbursed_on=date(2009, 6, 15),
            purpose="Exchange costs (2011 review data)",
            recorded_by=manager,
        )
        steps = [
            ("create", "", GrantStatus.DRAFT, leader, date(2009, 4, 20)),
            ("submit", GrantStatus.DRAFT, GrantStatus.SUBMITTED, leader, date(2009, 5, 4)),
            ("approve", GrantStatus.SUBMITTED, GrantStatus.APPROVED, manager, date(2009, 6, 1)),
            ("complete", GrantStatus.APPROVED, GrantStatus.COMPLETED, leader, date(2010, 8, 16)),
            (
                "accept-report",
                GrantStatus.COMPLETED,
                GrantStatus.COMPLETED,
                manager,
                date(2010, 9, 1),
            ),
            ("close", GrantStatus.COMPLETED, GrantStatus.CLOSED, manager, date(2010, 9, 15)),
        ]
        GrantHistory.objects.bulk_create(
            GrantHistory(
                grant=grant,
                actor=actor,
                action=action,
                from_status=src,
                to_status=dst,
                at=_at(day),
                comment="Recorded from the 2011 review of the SEETF.",
            )
            for action, src, dst, actor, day in steps
        )
        # The first-move dates the history gives (``Grant.note_move``).
        moved = [n for _a, _s, dst, _u, day in steps for n in grant.note_move(dst, _at(day))]
        # And what it keeps of its report, below (``report_dates``).
        report_submitted, report_accepted = _at(date(2010, 8, 16)), _at(date(2010, 9, 1))
        kept = report_dates(report_submitted, report_accepted)
        for name, value in kept.items():
            setattr(grant, name, value)
        grant.save(update_fields=[*moved, *kept])
        follow_up = box["follow_up_description"] if box else ""
        report = CompletionReport.objects.create(
            grant=grant,
            **{name: row[name] == "1" for name in OUTCOME_FIELDS},
            lessons=(fact["outcome_summary"] if fact else ""),
            follow_up_needed=bool(fact and fact["follow_up_needed"] == "yes"),
            follow_up_description=follow_up,
            submitted_at=report_submitted,
            accepted_at=report_accepted,
            accepted_by=manager,
        )
        if box:
            ConcreteResult.objects.bulk_create(
                ConcreteResult(report=report, kind=kind, description=text)
                for kind, text in box["concrete_results"]
            )
            exchange = Exchange.objects.create(
                grant=grant,
                instrument=box["instrument"],
                title=box["exchange_title"],
                start_date=date(2009, 9, 14),
                end_date=date(2009, 9, 18),
                location=box["exchange_location"],
                status=ExchangeStatus.HELD,
            )
            exchange.provider_countries.set(Country.objects.filter(code__in=box["providers"]))
            exchange.recipient_countries.set(Country.objects.filter(code__in=box["recipients"]))
            created["exchanges"] += 1
        ex_post_checks_create(grant=grant, closed_on=date(2010, 9, 15))
        created["grants"] += 1
    return created


@transaction.atomic
def load_review_stories() -> dict:
    """A published results story for each of the six exchanges the review's boxes
    describe, written in the project's own words from the review's facts (idempotent)."""
    from .models import ResultsStory
    from .services import story_create, story_publish

    leader, manager = _system_users()
    created = {"stories": 0}
    for title, box in box_exchanges().items():
        if ResultsStory.objects.filter(title=box["story_title"]).exists():
            continue
        grant = Grant.objects.get(title=title, task_team_leader=leader)
        story = story_create(
            user=manager,
            grant=grant,
            title=box["story_title"],
            body=box["story_body"],
            countries=Country.objects.filter(code__in=box["providers"] + box["recipients"]),
        )
        story_publish(story=story, user=manager)
        created["stories"] += 1
    return created


@transaction.atomic
def load_review_lessons() -> dict:
    """The lesson of each of the six exchanges the review's boxes describe, in the
    project's words (``lesson`` in box_exchanges.json): self-reported (the review
    retells what the task teams reported), written by the review's leader account and
    reviewed by its manager account through the lesson services, so that they reach the
    public hub. Idempotent: a lesson is known by its ``source``."""
    from .models import Lesson
    from .services import lesson_approve, lesson_create

    leader, manager = _system_users()
    created = {"lessons": 0}
    for title, box in box_exchanges().items():
        source = f"review-2011:{title}"
        if Lesson.objects.filter(source=source).exists():
            continue
        grant = Grant.objects.get(title=title, task_team_leader=leader)
        fact = box["lesson"]
        lesson = lesson_create(
            user=leader,
            grant=grant,
            completion_report=CompletionReport.objects.filter(grant=grant).first(),
            what_worked=fact["what_worked"],
            what_did_not=fact["what_did_not"],
            why=fact["why"],
            outcomes=fact["outcomes"],
            source=source,
        )
        lesson_approve(lesson=lesson, user=manager, comment="Recorded from the 2011 review.")
        created["lessons"] += 1
    return created
