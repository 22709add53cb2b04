"""Writes for results: completion reports and results stories.

A story is written in Markdown; each write renders and sanitizes it into ``body_html``
(``results.markdown``) and, on PostgreSQL, refreshes its full-text search vector, in the
same transaction, so a story is never read with stale HTML or a stale index.
"""

import calendar
import hashlib
import secrets
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.postgres.search import SearchVector
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from audit.services import audit_record, created, diff, snapshot
from grants.models import (
    APPROVED_AND_LATER,
    CapacityOutcome,
    Exchange,
    ExchangeStatus,
    Grant,
    GrantRelation,
    GrantStatus,
)
from grants.permissions import can_write_report
from grants.services import grant_propose_follow_on, grant_transition, grant_transition_check
from partners.models import Country, Sector
from seetf.common.errors import ApplicationError
from seetf.common.models import explicit_timestamps
from seetf.common.rules import require

from .markdown import render_markdown
from .models import (
    EX_POST_MONTHS,
    EX_POST_RESULTS,
    OUTCOME_FIELDS,
    CompletionReport,
    ConcreteResult,
    EvidenceLevel,
    ExPostCheck,
    FeedbackAnswer,
    FeedbackLink,
    FollowUpNeed,
    FollowUpStatus,
    Lesson,
    LessonReview,
    Outcome,
    ResultsStory,
)
from .permissions import (
    can_decide_needs,
    can_file_ex_post,
    can_manage_feedback,
    can_review_lessons,
    can_write_lesson,
    can_write_stories,
)

REPORT_FIELDS = {
    "outcomes_achieved",
    "concrete_results",
    "participants",
    "rating",
    "lessons",
    "follow_up_needed",
    "follow_up_description",
    "follow_up_needs",
}


# What the audit log keeps of a report (its concrete results as [kind, description]).
REPORT_AUDIT_FIELDS = (
    *OUTCOME_FIELDS,
    "participants",
    "rating",
    "lessons",
    "follow_up_needed",
    "follow_up_description",
    "submitted_at",
    "accepted_at",
    "accepted_by",
)


def _report_state(report: CompletionReport | None) -> dict:
    if report is None:
        return {}
    state = snapshot(report, REPORT_AUDIT_FIELDS)
    state["concrete_results"] = [
        [r.kind, r.description] for r in report.concrete_results.order_by("id")
    ]
    state["follow_up_needs"] = [
        [n.kind, n.description, str(n.estimated_usd)] for n in report.follow_up_needs.order_by("id")
    ]
    return state


def _locked_grant(grant: Grant) -> Grant:
    return Grant.objects.select_for_update().get(pk=grant.pk)


# The *_check functions hold the refusals that do not depend on the request's body: the
# API runs them before reading it (a user who may not act gets a 403, a grant in the
# wrong status a 409, not a 400 about the form), and the services run them again under
# the grant's row lock.


def completion_report_save_check(*, grant: Grant, user) -> None:
    require(can_write_report(user, grant))
    if grant.status != GrantStatus.APPROVED:
        raise ApplicationError(
            _("The report is written while the grant is approved; this one is %(status)s.")
            % {"status": grant.status},
            code="invalid_transition",
        )


def completion_report_submit_check(*, grant: Grant, user) -> None:
    """Submitting the report is the workflow's ``complete`` action (grants.workflow)."""
    grant_transition_check(grant=grant, user=user, action="complete")


def completion_report_return_check(*, grant: Grant, user) -> None:
    """Returning the report for revision is the workflow's ``return-report`` action."""
    grant_transition_check(grant=grant, user=user, action="return-report")


def completion_report_accept_check(*, grant: Grant, user) -> None:
    """Accepting the report is the workflow's ``accept-report`` action."""
    grant_transition_check(grant=grant, user=user, action="accept-report")


@transaction.atomic
def completion_report_save(*, grant: Grant, user, **fields) -> CompletionReport:
    """The leader writes (creates or replaces) the report while the grant is approved.
    Every field changed is audited before and after (``completion_report.create`` or
    ``.update``), the lessons among them."""
    unknown = set(fields) - REPORT_FIELDS
    if unknown:
        raise ValueError(f"completion_report_save() cannot set {', '.join(sorted(unknown))}")
    grant = _locked_grant(grant)
    completion_report_save_check(grant=grant, user=user)
    outcomes = fields.pop("outcomes_achieved", None)
    results = fields.pop("concrete_results", None)
    needs = fields.pop("follow_up_needs", None)
    if needs:
        # Needs written are follow-up needed.
        fields["follow_up_needed"] = True
    if outcomes is not None:
        unknown_outcomes = sorted(set(outcomes) - set(CapacityOutcome.values))
        if unknown_outcomes:
            raise ValidationError(
                {
                    "outcomes_achieved": [
                        _("Unknown outcome(s): %(unknown_outcomes)s.")
                        % {"unknown_outcomes": ", ".join(unknown_outcomes)}
                    ]
                }
            )
        fields.update({name: name in outcomes for name in OUTCOME_FIELDS})
    report, is_new = CompletionReport.objects.get_or_create(grant=grant)
    before = {} if is_new else _report_state(report)
    for name, value in fields.items():
        setattr(report, name, value)
    if not report.follow_up_needed and "follow_up_description" not in fields:
        report.follow_up_description = ""
    report.save()
    if results is not None:
        report.concrete_results.all().delete()
        ConcreteResult.objects.bulk_create(
            ConcreteResult(report=report, kind=r["kind"], description=r["description"])
            for r in results
        )
    if needs is not None:
        _write_needs(report, needs)
    changes = diff(before, _report_state(report))
    if changes or is_new:
        action = "completion_report.create" if is_new else "completion_report.update"
        audit_record(actor=user, action=action, obj=report, changes=changes)
    return report


def _exchange_errors(grant: Grant, day=None) -> dict:
    """What the grant's exchanges say against reporting its completion on ``day`` (by
    default today), as errors on ``exchanges``: none may still be planned (hold it or
    cancel it first), and the report does not come before the first exchange was held.
    A grant without exchanges is not refused here (the fund's past has such reports)."""
    day = day or timezone.localdate()
    rows = list(
        grant.exchanges.exclude(status=ExchangeStatus.CANCELLED).values_list(
            "title", "status", "start_date"
        )
    )
    planned = [title for title, status, _start in rows if status == ExchangeStatus.PLANNED]
    errors = []
    if planned:
        errors.append(
            _(
                "Exchanges still planned: %(exchanges)s. Record each as held or cancelled "
                "before reporting completion."
            )
            % {"exchanges": "; ".join(planned)}
        )
    held = [start for _title, status, start in rows if status == ExchangeStatus.HELD]
    if held and min(held) > day:
        errors.append(
            _("The first exchange is held on %(date)s: a completion report cannot come before it.")
            % {"date": f"{min(held):%Y-%m-%d}"}
        )
    return {"exchanges": errors} if errors else {}


@transaction.atomic
def completion_report_submit(
    *,
    grant: Grant,
    user,
    comment: str = "",
    at: datetime | None = None,
    rating_required: bool = True,
) -> CompletionReport:
    """The leader submits the report: the workflow's ``complete`` action moves the grant
    from approved to completed once the report says what it must. For the importer's
    reports of the past: ``at``, when (by default now), and ``rating_required=False``
    for a report the fund's files give no rating (the 2011 review's)."""
    grant = _locked_grant(grant)
    completion_report_submit_check(grant=grant, user=user)
    report = grant.completion_report
    missing = {}
    if not report.rating and rating_required:
        missing["rating"] = [_("Rate the grant's results before submitting.")]
    if (
        report.follow_up_needed
        and not report.follow_up_description.strip()
        and not report.follow_up_needs.exists()
    ):
        missing["follow_up_description"] = [_("Say what follow-up is needed.")]
    missing.update(_exchange_errors(grant, timezone.localdate(at) if at else None))
    if missing:
        raise ValidationError(missing)
    grant_transition(grant=grant, user=user, action="complete", comment=comment, at=at)
    report = CompletionReport.objects.get(grant=grant)
    lesson_from_report(report=report, user=user)
    audit_record(
        actor=user,
        action="completion_report.submit",
        obj=report,
        changes={"submitted_at": [None, snapshot(report, ["submitted_at"])["submitted_at"]]},
        reason=comment,
    )
    return report


@transaction.atomic
def completion_report_accept(
    *, grant: Grant, user, comment: str = "", at: datetime | None = None
) -> CompletionReport:
    """A fund manager accepts a submitted report (the workflow's ``accept-report``);
    the grant may then be closed."""
    grant_transition(grant=grant, user=user, action="accept-report", comment=comment, at=at)
    report = CompletionReport.objects.get(grant=grant)
    audit_record(
        actor=user,
        action="completion_report.accept",
        obj=report,
        changes=diff(
            {"accepted_at": None, "accepted_by": None},
            snapshot(report, ["accepted_at", "accepted_by"]),
        ),
        reason=comment,
    )
    return report


# --- Follow-up needs ------------------------------------------------------------------

NEED_FIELDS = {"kind", "description", "estimated_usd"}
# A need's outcome is recorded once the report is in: the grant completed or closed.
NEED_DECISION_STATUSES = (GrantStatus.COMPLETED, GrantStatus.CLOSED)
NEED_AUDIT_FIELDS = (
    "kind",
    "description",
    "estimated_usd",
    "status",
    "financed_by_grant",
    "financed_elsewhere_by",
    "financed_elsewhere_usd",
    "dropped_reason",
    "proposed_grant",
)


def _write_needs(report: CompletionReport, needs: list[dict]) -> None:
    """Replace the report's needs (the report is being written: the grant is approved,
    so every need is still open and none has a follow-on proposed)."""
    report.follow_up_needs.all().delete()
    FollowUpNeed.objects.bulk_create(
        FollowUpNeed(
            grant_id=report.grant_id,
            report=report,
            kind=need["kind"],
            description=need["description"],
            estimated_usd=need.get("estimated_usd"),
        )
        for need in needs
    )


def _locked_need(need: FollowUpNeed) -> FollowUpNeed:
    return (
        FollowUpNeed.objects.select_for_update(of=("self",)).select_related("grant").get(pk=need.pk)
    )


def _need_open(need: FollowUpNeed) -> None:
    """409 ``invalid_transition`` unless the need is open: a need is financed once (by a
    follow-on grant or elsewhere) or dropped, and what became of it stays."""
    if need.status != FollowUpStatus.OPEN:
        raise ApplicationError(
            _("This follow-up need is %(status)s already: a need is financed or dropped once.")
            % {"status": need.status},
            code="invalid_transition",
        )


def need_decide_check(*, need: FollowUpNeed, user) -> None:
    """403 unless a fund manager; 409 unless the report is in and the need open."""
    require(can_decide_needs(user))
    if need.grant.status not in NEED_DECISION_STATUSES:
        raise ApplicationError(
            _("What became of a follow-up need is recorded once the grant is completed."),
            code="invalid_transition",
        )
    _need_open(need)


def _audit_need(need, user, action, before, reason=""):
    audit_record(
        actor=user,
        action=f"follow_up_need.{action}",
        obj=need,
        changes=diff(before, snapshot(need, NEED_AUDIT_FIELDS)),
        reason=reason,
    )


@transaction.atomic
def need_update(*, need: FollowUpNeed, user, **fields) -> FollowUpNeed:
    """A fund manager corrects an open need's kind, description or estimate."""
    unknown = set(fields) - NEED_FIELDS
    if unknown:
        raise ValueError(f"need_update() cannot set {', '.join(sorted(unknown))}")
    need = _locked_need(need)
    require(can_decide_needs(user))
    _need_open(need)
    before = snapshot(need, NEED_AUDIT_FIELDS)
    for name, value in fields.items():
        setattr(need, name, value)
    need.save()
    _audit_need(need, user, "update", before)
    return need


@transaction.atomic
def need_finance_elsewhere(
    *, need: FollowUpNeed, user, financed_elsewhere_by: str, financed_elsewhere_usd, comment=""
) -> FollowUpNeed:
    """A fund manager records that another source finances the need (money leveraged:
    the follow-up report adds it up). 409 ``invalid_transition`` for a need already
    financed or dropped."""
    need = _locked_need(need)
    need_decide_check(need=need, user=user)
    if not (financed_elsewhere_by or "").strip():
        raise ValidationError({"financed_elsewhere_by": [_("Say who finances it.")]})
    if financed_elsewhere_usd is None or financed_elsewhere_usd < 0:
        raise ValidationError({"financed_elsewhere_usd": [_("An amount of zero or more.")]})
    before = snapshot(need, NEED_AUDIT_FIELDS)
    need.status = FollowUpStatus.FINANCED
    need.financed_elsewhere_by = financed_elsewhere_by.strip()
    need.financed_elsewhere_usd = financed_elsewhere_usd
    need.decided_at, need.decided_by = timezone.now(), user
    need.save()
    _audit_need(need, user, "finance_elsewhere", before, comment)
    return need


@transaction.atomic
def need_drop(*, need: FollowUpNeed, user, reason: str) -> FollowUpNeed:
    """A fund manager drops a need nobody will finance, saying why."""
    need = _locked_need(need)
    need_decide_check(need=need, user=user)
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Say why the need is dropped.")]})
    before = snapshot(need, NEED_AUDIT_FIELDS)
    need.status = FollowUpStatus.DROPPED
    need.dropped_reason = reason.strip()
    need.decided_at, need.decided_by = timezone.now(), user
    need.save()
    _audit_need(need, user, "drop", before, reason)
    return need


# A proposal that ended so leaves the need free for another.
_PROPOSAL_ENDED = (GrantStatus.REJECTED, GrantStatus.CANCELLED)


@transaction.atomic
def need_propose_follow_on(
    *, need: FollowUpNeed, user, relation: str = GrantRelation.FOLLOW_ON
) -> Grant:
    """ "Propose a follow-on" from a need: ``grants.services.grant_propose_follow_on`` on
    the need's grant, the draft remembered as the need's ``proposed_grant``; approving
    it finances the need (``results.receivers``). 409 ``invalid_transition`` for a need
    not open; 409 ``duplicate`` while another proposal for it is under way."""
    need = _locked_need(need)
    _need_open(need)
    if need.proposed_grant_id is not None:
        status = Grant.objects.filter(pk=need.proposed_grant_id).values_list("status", flat=True)
        if status.first() not in _PROPOSAL_ENDED:
            raise ApplicationError(
                _("A follow-on grant is already proposed for this need."), code="duplicate"
            )
    draft = grant_propose_follow_on(parent=need.grant, user=user, relation=relation)
    before = snapshot(need, NEED_AUDIT_FIELDS)
    need.proposed_grant = draft
    need.save(update_fields=["proposed_grant", "updated_at"])
    _audit_need(need, user, "propose_follow_on", before)
    return draft


def needs_finance_by(*, grant: Grant, user) -> int:
    """The needs a grant was proposed for are financed by it, once approved: called in
    the approval's transaction (grant locked) by ``results.receivers``. Each open need
    is locked; one financed or dropped meanwhile keeps what became of it (a need is
    financed once). Returns how many were financed."""
    needs = list(
        FollowUpNeed.objects.select_for_update()
        .filter(proposed_grant=grant, status=FollowUpStatus.OPEN)
        .order_by("pk")
    )
    now = timezone.now()
    for need in needs:
        before = snapshot(need, NEED_AUDIT_FIELDS)
        need.status = FollowUpStatus.FINANCED
        need.financed_by_grant = grant
        need.decided_at, need.decided_by = now, user
        need.save()
        _audit_need(need, user, "financed", before)
    return len(needs)


# --- Ex-post checks ----------------------------------------------------------------------

EX_POST_FIELDS = {*EX_POST_RESULTS, "evidence", "notes"}


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day (31 August + 6: 28 or 29
    February)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _ex_post_checks(grant_id: int, closed_on: date) -> list[ExPostCheck]:
    return [
        ExPostCheck(
            grant_id=grant_id,
            months_after_close=months,
            closed_on=closed_on,
            due_on=add_months(closed_on, months),
        )
        for months in EX_POST_MONTHS
    ]


def ex_post_checks_create(*, grant: Grant, closed_on: date) -> list[ExPostCheck]:
    """Both checks of a grant just closed, due 6 and 12 months after ``closed_on``; run
    in the closing transaction (``results.receivers``). A grant is closed once, and the
    unique constraint (grant, months) keeps it to two checks whatever happens."""
    return ExPostCheck.objects.bulk_create(_ex_post_checks(grant.pk, closed_on))


def ex_post_check_file_check(*, check: ExPostCheck, user, today: date | None = None) -> None:
    """403 unless the grant's leader; 409 ``invalid_transition`` for a check filed
    already, or before its due date ("not before due_on": a check says what lasted
    6 or 12 months on, and answered earlier it would not)."""
    require(can_file_ex_post(user, check.grant))
    if check.submitted_at is not None:
        raise ApplicationError(
            _("This ex-post check was filed already; it cannot be changed."),
            code="invalid_transition",
        )
    today = today or timezone.localdate()
    if today < check.due_on:
        raise ApplicationError(
            _(
                "This %(months_after_close)s-month check is due on %(due_on)s: it "
                "can be filed from that day, not before."
            )
            % {
                "months_after_close": check.months_after_close,
                "due_on": f"{check.due_on:%Y-%m-%d}",
            },
            code="invalid_transition",
        )


@transaction.atomic
def ex_post_check_file(*, check: ExPostCheck, user, **answers) -> ExPostCheck:
    """The leader files an ex-post check, once, from its due date."""
    unknown = set(answers) - EX_POST_FIELDS
    if unknown:
        raise ValueError(f"ex_post_check_file() cannot set {', '.join(sorted(unknown))}")
    check = (
        ExPostCheck.objects.select_for_update(of=("self",)).select_related("grant").get(pk=check.pk)
    )
    ex_post_check_file_check(check=check, user=user)
    for name, value in answers.items():
        setattr(check, name, value)
    check.submitted_at, check.submitted_by = timezone.now(), user
    check.save()
    audit_record(
        actor=user,
        action="ex_post_check.file",
        obj=check,
        changes=created(check, [*EX_POST_FIELDS, "submitted_at"]),
    )
    return check


@transaction.atomic
def completion_report_return(*, grant: Grant, user, comment: str = "") -> CompletionReport:
    """A fund manager sends a submitted, not yet accepted report back to its leader for
    revision (the workflow's ``return-report``): the grant is approved again, the report
    no longer submitted; the comment, which says what to revise, is required (400)."""
    grant = _locked_grant(grant)
    completion_report_return_check(grant=grant, user=user)
    if not (comment or "").strip():
        raise ValidationError({"comment": [_("Say what the leader should revise.")]})
    before = snapshot(grant.completion_report, ["submitted_at"])
    grant_transition(grant=grant, user=user, action="return-report", comment=comment)
    report = CompletionReport.objects.get(grant=grant)
    audit_record(
        actor=user,
        action="completion_report.return",
        obj=report,
        changes=diff(before, snapshot(report, ["submitted_at"])),
        reason=comment,
    )
    return report


# --- Results stories ---------------------------------------------------------------------

TITLE_MAX = 200
BODY_MAX = 50000
STORY_FIELDS = {"grant", "title", "body", "sectors", "countries", "outcomes"}
# A slug leaves room for a "-NNN" suffix within the column.
SLUG_BASE_MAX = 200
SLUG_ATTEMPTS = 5


def validate_story(*, grant: Grant | None, title: str, body: str, outcomes=()) -> None:
    """The rules a story's content must meet, as a ValidationError keyed by field.

    The grant must be approved or later: a published story names its grant, and only
    such grants are visible beyond fund managers and their leader.
    """
    errors: dict[str, list[str]] = {}
    if grant is None:
        errors["grant"] = [_("A story tells the results of a grant: name it.")]
    elif grant.status not in APPROVED_AND_LATER:
        errors["grant"] = [
            _("Stories are written about approved grants and later; this one is %(status)s.")
            % {"status": grant.status}
        ]
    if not (title or "").strip():
        errors["title"] = [_("Give the story a title.")]
    elif len(title) > TITLE_MAX:
        errors["title"] = [_("At most %(limit)s characters.") % {"limit": TITLE_MAX}]
    if not (body or "").strip():
        errors["body"] = [_("Write the story.")]
    elif len(body) > BODY_MAX:
        errors["body"] = [_("At most %(limit)s characters.") % {"limit": BODY_MAX}]
    unknown = sorted(set(_outcome_codes(outcomes)) - set(CapacityOutcome.values))
    if unknown:
        errors["outcomes"] = [f"Unknown outcome(s): {', '.join(unknown)}."]
    if errors:
        raise ValidationError(errors)


def _outcome_codes(outcomes) -> list[str]:
    return [o.code if isinstance(o, Outcome) else str(o) for o in outcomes or ()]


def _free_slug(title: str, *, exclude_pk=None) -> str:
    """The title's slug, with the lowest free "-N" suffix if it is taken."""
    base = slugify(title)[:SLUG_BASE_MAX].strip("-") or "story"
    taken = ResultsStory.objects.filter(Q(slug=base) | Q(slug__startswith=f"{base}-"))
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    taken = set(taken.values_list("slug", flat=True))
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def _insert_with_free_slug(story: ResultsStory) -> None:
    """Save a new story under a free slug. Two stories with the same title created at
    once can pick the same slug; the loser's insert fails on the unique index inside
    its savepoint and it tries the next free one."""
    for attempt in range(SLUG_ATTEMPTS):
        story.slug = _free_slug(story.title)
        try:
            with transaction.atomic():
                story.save(force_insert=True)
            return
        except IntegrityError:
            slug_taken = ResultsStory.objects.filter(slug=story.slug).exists()
            if not slug_taken or attempt == SLUG_ATTEMPTS - 1:
                raise
            story.pk = None


def _set_relations(story: ResultsStory, *, sectors=None, countries=None, outcomes=None):
    if sectors is not None:
        story.sectors.set(list(sectors))
    if countries is not None:
        story.countries.set(list(countries))
    if outcomes is not None:
        story.outcomes.set(_outcome_codes(outcomes))


def _index_for_search(story: ResultsStory) -> None:
    """Refresh the stored search vector (PostgreSQL only): title weight A, body B."""
    if connection.vendor != "postgresql":
        return
    ResultsStory.objects.filter(pk=story.pk).update(
        search_vector=SearchVector("title", weight="A", config="english")
        + SearchVector("body", weight="B", config="english")
    )


PUBLISH_FIELDS = ("published", "published_at")
STORY_AUDIT_FIELDS = (
    "grant",
    "slug",
    "title",
    "body",
    "published",
    "published_at",
    "sectors",
    "countries",
    "outcomes",
)


def _locked(story: ResultsStory) -> ResultsStory:
    return ResultsStory.objects.select_for_update().get(pk=story.pk)


@transaction.atomic
def story_create(
    *,
    user,
    grant: Grant,
    title: str,
    body: str,
    sectors: Iterable[Sector] | None = None,
    countries: Iterable[Country] | None = None,
    outcomes: Iterable[str | Outcome] | None = None,
) -> ResultsStory:
    """A fund manager writes a draft story about an approved (usually closed) grant.

    Left out (None), the sectors, countries and outcomes come from the grant: its
    sector, its recipient countries and the outcomes its completion report achieved.
    The slug comes from the title, made unique with a "-N" suffix, and never changes.
    """
    require(can_write_stories(user))
    validate_story(grant=grant, title=title, body=body, outcomes=outcomes)
    if sectors is None:
        sectors = [grant.sector_id]
    if countries is None:
        countries = list(grant.recipient_countries.all())
    if outcomes is None:
        report = CompletionReport.objects.filter(grant=grant).first()
        outcomes = report.outcomes_achieved if report else []
    story = ResultsStory(
        grant=grant,
        title=title.strip(),
        body=body,
        body_html=render_markdown(body),
        created_by=user,
    )
    _insert_with_free_slug(story)
    _set_relations(story, sectors=sectors, countries=countries, outcomes=outcomes)
    _index_for_search(story)
    audit_record(
        actor=user,
        action="story.create",
        obj=story,
        changes=diff({}, snapshot(story, STORY_AUDIT_FIELDS)),
    )
    return story


@transaction.atomic
def story_update(*, story: ResultsStory, user, **fields) -> ResultsStory:
    """A fund manager edits a story, published or not; the body is rendered again.
    Relations given replace the old ones; those left out are kept."""
    unknown = set(fields) - STORY_FIELDS
    if unknown:
        raise ValueError(f"story_update() cannot set {', '.join(sorted(unknown))}")
    require(can_write_stories(user))
    story = _locked(story)
    before = snapshot(story, STORY_AUDIT_FIELDS)
    grant = fields.get("grant", story.grant)
    title = fields.get("title", story.title)
    body = fields.get("body", story.body)
    validate_story(grant=grant, title=title, body=body, outcomes=fields.get("outcomes"))
    story.grant = grant
    story.title = title.strip()
    story.body = body
    story.body_html = render_markdown(body)
    story.save(update_fields=["grant", "title", "body", "body_html", "updated_at"])
    _set_relations(
        story,
        sectors=fields.get("sectors"),
        countries=fields.get("countries"),
        outcomes=fields.get("outcomes"),
    )
    _index_for_search(story)
    changes = diff(before, snapshot(story, STORY_AUDIT_FIELDS))
    if changes:
        audit_record(actor=user, action="story.update", obj=story, changes=changes)
    return story


@transaction.atomic
def story_publish(*, story: ResultsStory, user) -> ResultsStory:
    """A fund manager publishes a draft: from then on anyone may read it."""
    require(can_write_stories(user))
    story = _locked(story)
    if story.published:
        raise ApplicationError(_("This story is published already."), code="invalid_transition")
    story.published = True
    story.published_at = timezone.now()
    story.save(update_fields=["published", "published_at", "updated_at"])
    audit_record(
        actor=user,
        action="story.publish",
        obj=story,
        changes=diff({"published": False, "published_at": None}, snapshot(story, PUBLISH_FIELDS)),
    )
    return story


@transaction.atomic
def story_unpublish(*, story: ResultsStory, user) -> ResultsStory:
    """A fund manager takes a story back to draft: only fund managers see it again."""
    require(can_write_stories(user))
    story = _locked(story)
    if not story.published:
        raise ApplicationError(_("This story is not published."), code="invalid_transition")
    before = snapshot(story, PUBLISH_FIELDS)
    story.published = False
    story.published_at = None
    story.save(update_fields=["published", "published_at", "updated_at"])
    audit_record(
        actor=user,
        action="story.unpublish",
        obj=story,
        changes=diff(before, snapshot(story, PUBLISH_FIELDS)),
    )
    return story


# --- The fund's past, in batches (the importer) ------------------------------------------


def _report_submit_check(grant: Grant, *, rating_required: bool) -> None:
    report = grant.completion_report
    missing = {}
    if not report.rating and rating_required:
        missing["rating"] = [_("Rate the grant's results before submitting.")]
    if report.follow_up_needed and not report.follow_up_description.strip():
        missing["follow_up_description"] = [_("Say what follow-up is needed.")]
    if missing:
        raise ValidationError(missing)


@transaction.atomic
def grants_record_past(*, records: list, rating_required: bool = True) -> list:
    """``grants.services.grants_record_past`` with the grants' completion reports.

    A record's ``report`` is given as a dict of ``completion_report_save``'s fields (plus
    ``concrete_results``), and its steps may hold a ``report`` step (the leader writes the
    report: ``completion_report_save_check``, the grant approved); the workflow's
    ``complete`` step then also checks what ``completion_report_submit`` does (the rating
    unless ``rating_required=False``, for reports the fund's files do not rate; the
    follow-up said). The reports and their concrete results are written in bulk, dated by
    the steps."""
    from grants.services import PastStep
    from grants.services import grants_record_past as record_grants

    reports = []
    for record in records:
        fields = record.report
        if fields is None:
            continue
        outcomes = fields.get("outcomes_achieved", ())
        unknown = sorted(set(outcomes) - set(CapacityOutcome.values))
        if unknown:
            exc = ValidationError(
                {
                    "outcomes_achieved": [
                        _("Unknown outcome(s): %(unknown)s.") % {"unknown": ", ".join(unknown)}
                    ]
                }
            )
            exc.record = record
            raise exc
        report = CompletionReport(
            **{name: name in outcomes for name in OUTCOME_FIELDS},
            participants=fields.get("participants", 0),
            rating=fields.get("rating", ""),
            lessons=fields.get("lessons", ""),
            follow_up_needed=fields.get("follow_up_needed", False),
            follow_up_description=fields.get("follow_up_description", "")
            if fields.get("follow_up_needed")
            else "",
        )
        reports.append((record, report, fields.get("concrete_results", ())))
        record.report = report
        steps = []
        for step in record.steps:
            if step.kind == "report":
                steps.append(
                    PastStep(
                        "check",
                        step.user,
                        step.at,
                        inputs={
                            "check": lambda g, u=step.user: completion_report_save_check(
                                grant=g, user=u
                            )
                        },
                    )
                )
                report.created_at = report.updated_at = step.at
                continue
            if step.kind == "complete":
                steps.append(
                    PastStep(
                        "check",
                        step.user,
                        step.at,
                        inputs={
                            "check": lambda g: _report_submit_check(
                                g, rating_required=rating_required
                            )
                        },
                    )
                )
            steps.append(step)
        record.steps = steps
    record_grants(records=records)
    made = []
    for record, report, _results in reports:
        report.grant_id = record.grant.pk
        report.updated_at = max(
            t for t in (report.created_at, report.submitted_at, report.accepted_at) if t
        )
        made.append(report)
    with explicit_timestamps(CompletionReport):
        CompletionReport.objects.bulk_create(made, batch_size=2000)
    ConcreteResult.objects.bulk_create(
        [
            ConcreteResult(report=report, kind=r["kind"], description=r["description"])
            for _record, report, results in reports
            for r in results
        ],
        batch_size=5000,
    )
    # A grant of the past that was closed has its ex-post checks too, due from the day
    # it was closed (the reminders chase only those due lately: results.reminders).
    ExPostCheck.objects.bulk_create(
        [
            check
            for record in records
            for step in record.steps
            if step.kind == "close"
            for check in _ex_post_checks(record.grant.pk, timezone.localdate(step.at))
        ],
        batch_size=5000,
    )
    return records


# --- Lessons with evidence ---------------------------------------------------------------

LESSON_TEXT_FIELDS = ("what_worked", "what_did_not", "why")
LESSON_AUDIT_FIELDS = (
    "grant",
    "completion_report",
    *LESSON_TEXT_FIELDS,
    "outcomes",
    "evidence_level",
    "review_status",
    "review_comment",
    "reviewed_at",
    "reviewed_by",
)
# Lessons a leader may still edit: an approved one is public, and changing it would
# put words on the hub that no fund manager read. A fund manager returns it first.
LESSON_EDITABLE = (LessonReview.PENDING, LessonReview.RETURNED)


def _locked_lesson(lesson: Lesson) -> Lesson:
    return Lesson.objects.select_for_update().get(pk=lesson.pk)


def validate_lesson(*, grant: Grant, completion_report=None, **texts) -> None:
    """A lesson says at least one of what worked, what did not, or why; its grant is
    approved or later; its completion report, if named, is that grant's."""
    errors = {}
    if not any((texts.get(name) or "").strip() for name in LESSON_TEXT_FIELDS):
        errors["what_worked"] = [_("Say what worked, what did not, or why.")]
    if grant.status not in APPROVED_AND_LATER:
        errors["grant"] = [_("Lessons are written about grants approved or later.")]
    if completion_report is not None and completion_report.grant_id != grant.pk:
        errors["completion_report"] = [_("This report is not the grant's.")]
    if errors:
        raise ValidationError(errors)


def _lesson_state(lesson: Lesson) -> dict:
    return snapshot(lesson, LESSON_AUDIT_FIELDS)


@transaction.atomic
def lesson_create(
    *,
    user,
    grant: Grant,
    what_worked: str = "",
    what_did_not: str = "",
    why: str = "",
    outcomes: Iterable[str | Outcome] = (),
    evidence_level: str = EvidenceLevel.SELF_REPORTED,
    completion_report: CompletionReport | None = None,
    source: str = "",
) -> Lesson:
    """The grant's leader writes a lesson; it waits for a fund manager's review."""
    require(can_write_lesson(user, grant))
    validate_lesson(
        grant=grant,
        completion_report=completion_report,
        what_worked=what_worked,
        what_did_not=what_did_not,
        why=why,
    )
    lesson = Lesson.objects.create(
        grant=grant,
        completion_report=completion_report,
        what_worked=what_worked.strip(),
        what_did_not=what_did_not.strip(),
        why=why.strip(),
        evidence_level=evidence_level,
        created_by=user if getattr(user, "is_authenticated", False) else None,
        source=source,
    )
    lesson.outcomes.set(_outcome_codes(outcomes))
    audit_record(
        actor=user, action="lesson.create", obj=lesson, changes=diff({}, _lesson_state(lesson))
    )
    return lesson


def lesson_update_check(*, lesson: Lesson, user) -> None:
    """Who may edit (its grant's leader: 403) and when (not once approved: 409)."""
    require(can_write_lesson(user, lesson.grant))
    if lesson.review_status not in LESSON_EDITABLE:
        raise ApplicationError(
            _("This lesson is reviewed and public; a fund manager returns it before it changes."),
            code="invalid_transition",
        )


@transaction.atomic
def lesson_update(*, lesson: Lesson, user, **fields) -> Lesson:
    """The leader edits a lesson not yet approved; a returned one goes back to
    waiting for review."""
    lesson = _locked_lesson(lesson)
    lesson_update_check(lesson=lesson, user=user)
    before = _lesson_state(lesson)
    outcomes = fields.pop("outcomes", None)
    for name in (*LESSON_TEXT_FIELDS, "evidence_level", "completion_report"):
        if name in fields:
            value = fields[name]
            setattr(lesson, name, value.strip() if isinstance(value, str) else value)
    validate_lesson(
        grant=lesson.grant,
        completion_report=lesson.completion_report,
        **{name: getattr(lesson, name) for name in LESSON_TEXT_FIELDS},
    )
    lesson.review_status = LessonReview.PENDING
    lesson.save()
    if outcomes is not None:
        lesson.outcomes.set(_outcome_codes(outcomes))
    audit_record(
        actor=user, action="lesson.update", obj=lesson, changes=diff(before, _lesson_state(lesson))
    )
    return lesson


def _lesson_review(*, lesson: Lesson, user, to: str, comment: str, allowed_from) -> Lesson:
    require(can_review_lessons(user))
    if lesson.grant.task_team_leader_id == user.pk and not user.is_superuser:
        # As for approving one's own grant: a review is someone else's reading.
        raise ApplicationError(
            _("You lead this grant: another fund manager reviews its lessons."),
            code="self_approval",
            status=403,
        )
    lesson = _locked_lesson(lesson)
    if lesson.review_status not in allowed_from:
        raise ApplicationError(
            (
                _("This lesson is %(status)s; it cannot be approved now.")
                if to == LessonReview.APPROVED
                else _("This lesson is %(status)s; it cannot be returned now.")
            )
            % {"status": lesson.get_review_status_display().lower()},
            code="invalid_transition",
        )
    before = _lesson_state(lesson)
    lesson.review_status = to
    lesson.review_comment = comment
    lesson.reviewed_at = timezone.now()
    lesson.reviewed_by = user
    lesson.save(
        update_fields=[
            "review_status",
            "review_comment",
            "reviewed_at",
            "reviewed_by",
            "updated_at",
        ]
    )
    audit_record(
        actor=user,
        action=f"lesson.{'approve' if to == LessonReview.APPROVED else 'return'}",
        obj=lesson,
        changes=diff(before, _lesson_state(lesson)),
        reason=comment,
    )
    return lesson


@transaction.atomic
def lesson_approve(*, lesson: Lesson, user, comment: str = "") -> Lesson:
    """A fund manager lets a waiting lesson through to the public hub."""
    return _lesson_review(
        lesson=lesson,
        user=user,
        to=LessonReview.APPROVED,
        comment=comment,
        allowed_from=(LessonReview.PENDING,),
    )


@transaction.atomic
def lesson_return(*, lesson: Lesson, user, comment: str = "") -> Lesson:
    """A fund manager sends a waiting (or an approved, which leaves the hub) lesson
    back to its leader, saying why."""
    return _lesson_review(
        lesson=lesson,
        user=user,
        to=LessonReview.RETURNED,
        comment=comment,
        allowed_from=(LessonReview.PENDING, LessonReview.APPROVED),
    )


def lesson_from_report(*, report: CompletionReport, user) -> Lesson | None:
    """When a report is submitted, its lessons text becomes a self-reported lesson that
    waits for review (once per report: ``source``). Called inside the submission's
    transaction."""
    source = f"report:{report.pk}"
    if not report.lessons.strip() or Lesson.objects.filter(source=source).exists():
        return None
    return lesson_create(
        user=user,
        grant=report.grant,
        what_worked=report.lessons[:5000],
        outcomes=report.outcomes_achieved,
        completion_report=report,
        source=source,
    )


# --- Participant feedback ----------------------------------------------------------------

FEEDBACK_TOKEN_BYTES = 32  # 43 URL-safe characters
FEEDBACK_COMMENT_MAX = 1000
FEEDBACK_LINK_EXCHANGE_STATUSES = (ExchangeStatus.PLANNED, ExchangeStatus.HELD)
FEEDBACK_LINK_GRANT_STATUSES = (GrantStatus.APPROVED, GrantStatus.COMPLETED, GrantStatus.CLOSED)


def feedback_token_hash(token: str) -> str:
    """What is stored of a token. A 256-bit random token needs no slow hash: no one
    can guess it, and looking its hash up leaks nothing of it."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def feedback_link_check(*, exchange: Exchange, user) -> None:
    """Who may open a link (403), and for which exchanges (409): not a cancelled one,
    and only once its grant is approved (participants rate what took place)."""
    require(can_manage_feedback(user, exchange.grant))
    if exchange.status not in FEEDBACK_LINK_EXCHANGE_STATUSES:
        raise ApplicationError(
            _("A cancelled exchange has no participants to ask."), code="invalid_transition"
        )
    if exchange.grant.status not in FEEDBACK_LINK_GRANT_STATUSES:
        raise ApplicationError(
            _("Feedback is asked once the grant is approved; this one is %(status)s.")
            % {"status": exchange.grant.status},
            code="invalid_transition",
        )


@transaction.atomic
def feedback_link_open(*, exchange: Exchange, user, days: int | None = None):
    """Open a feedback link for an exchange. Returns ``(link, token)``: the token is
    not stored (only its hash) and cannot be shown again."""
    feedback_link_check(exchange=exchange, user=user)
    days = days or settings.SEETF_FEEDBACK_LINK_DAYS
    if not 1 <= days <= 366:
        raise ValidationError({"days": [_("A link stays open from 1 to 366 days.")]})
    token = secrets.token_urlsafe(FEEDBACK_TOKEN_BYTES)
    link = FeedbackLink.objects.create(
        exchange=exchange,
        token_hash=feedback_token_hash(token),
        expires_at=timezone.now() + timedelta(days=days),
        created_by=user,
    )
    audit_record(
        actor=user,
        action="feedback_link.open",
        obj=link,
        changes={"exchange": [None, exchange.pk], "expires_at": [None, link.expires_at]},
    )
    return link, token


@transaction.atomic
def feedback_link_close(*, link: FeedbackLink, user) -> FeedbackLink:
    """Close a link before it expires: it answers as an expired one from then on."""
    require(can_manage_feedback(user, link.exchange.grant))
    link = FeedbackLink.objects.select_for_update().get(pk=link.pk)
    if link.closed_at is not None:
        raise ApplicationError(
            _("This feedback link is closed already."), code="invalid_transition"
        )
    link.closed_at = timezone.now()
    link.closed_by = user
    link.save(update_fields=["closed_at", "closed_by"])
    audit_record(
        actor=user,
        action="feedback_link.close",
        obj=link,
        changes={"closed_at": [None, link.closed_at]},
    )
    return link


def feedback_link_state(token: str) -> tuple[FeedbackLink | None, str]:
    """The open link of a token, or why there is none: ``unknown`` (no such token) or
    ``gone`` (expired or closed). The participant's page tells them apart by status
    only (404, 410), with the same words, and nothing of the exchange."""
    if not token or len(token) > 200:
        return None, "unknown"
    link = (
        FeedbackLink.objects.select_related("exchange")
        .filter(token_hash=feedback_token_hash(token))
        .first()
    )
    if link is None:
        return None, "unknown"
    if link.closed_at is not None or link.expires_at <= timezone.now():
        return None, "gone"
    return link, ""


def feedback_rate_limited(address: str | None) -> bool:
    """Counts this address's answers in the cache (``SEETF_FEEDBACK_RATE_LIMIT`` per
    ``SEETF_FEEDBACK_RATE_WINDOW`` seconds) and says whether it is over the limit. The
    first answer of a window starts it (``add``); the counter is incremented
    atomically where the cache can (Redis; locmem within a process)."""
    key = f"feedback-rate:{address or 'unknown'}"
    window = settings.SEETF_FEEDBACK_RATE_WINDOW
    if cache.add(key, 1, timeout=window):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window)
            count = 1
    return count > settings.SEETF_FEEDBACK_RATE_LIMIT


@transaction.atomic
def feedback_answer(
    *,
    link: FeedbackLink,
    session_key: str,
    relevance: int,
    usefulness: int,
    intention: int,
    comment: str = "",
) -> FeedbackAnswer:
    """A participant's answer, once per browser session (a second one is a 409
    ``duplicate``, also when two race: the database's unique constraint decides)."""
    errors = {}
    for name, value in (
        ("relevance", relevance),
        ("usefulness", usefulness),
        ("intention", intention),
    ):
        if not isinstance(value, int) or not 1 <= value <= 5:
            errors[name] = [_("Choose from 1 to 5.")]
    if len(comment) > FEEDBACK_COMMENT_MAX:
        errors["comment"] = [_("At most %(limit)s characters.") % {"limit": FEEDBACK_COMMENT_MAX}]
    if errors:
        raise ValidationError(errors)
    duplicate = ApplicationError(_("You have already answered: thank you."), code="duplicate")
    if FeedbackAnswer.objects.filter(link=link, session_key=session_key).exists():
        raise duplicate
    try:
        with transaction.atomic():
            return FeedbackAnswer.objects.create(
                link=link,
                exchange_id=link.exchange_id,
                relevance=relevance,
                usefulness=usefulness,
                intention=intention,
                comment=comment.strip(),
                session_key=session_key,
            )
    except IntegrityError:
        raise duplicate from None
