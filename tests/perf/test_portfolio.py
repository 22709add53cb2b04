"""The generated portfolio: deterministic (the same seed gives the same data), realistic
(every status, amounts around USD 100,000, one to five exchanges, money that adds up),
and written through the ledger's totals; with follow-up needs, ex-post checks, lessons,
documents (their files in the documents storage), comments and notifications as the
services and receivers would have written them."""

import hashlib
import importlib
import statistics
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps as global_apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count, F, Sum
from django.utils import timezone

from collaboration import receivers
from collaboration.models import Comment, Delivery, Notification, NotificationKind
from documents import files
from documents.models import Document
from documents.storage import document_storage
from grants.models import (
    Disbursement,
    Exchange,
    Grant,
    GrantHistory,
    GrantStatus,
    ReferenceCounter,
    Reminder,
)
from grants.selectors import fund_ledger_from_records, fund_summary
from partners.models import Contribution, Fund, FundAlert, Receipt
from partners.roles import Role
from results.markdown import render_markdown
from results.models import (
    OUTCOME_FIELDS,
    CompletionReport,
    ConcreteResult,
    ExPostCheck,
    FollowUpNeed,
    FollowUpStatus,
    Lesson,
    LessonReview,
    ResultsStory,
)
from results.services import add_months

pytestmark = pytest.mark.django_db


class _Rollback(Exception):
    pass


def fingerprint() -> str:
    """A digest of everything generated, by natural keys (never primary keys, which
    depend on what the database held before)."""
    grant_key = {
        g["id"]: (g["reference"] or "", g["title"], str(g["created_at"]))
        for g in Grant.objects.values("id", "reference", "title", "created_at")
    }
    parts = []
    parts += sorted(
        (
            grant_key[g["id"]],
            g["status"],
            str(g["requested_usd"]),
            str(g["approved_usd"]),
            str(g["disbursed_usd"]),
            str(g["released_usd"]),
            str(g["planned_start"]),
            str(g["planned_end"]),
            str(g["submitted_at"]),
            str(g["decided_at"]),
            g["task_team_leader__username"],
            g["sector_id"],
            g["region"],
            tuple(g["targeted_outcomes"]),
        )
        for g in Grant.objects.values(
            "id",
            "status",
            "requested_usd",
            "approved_usd",
            "disbursed_usd",
            "released_usd",
            "planned_start",
            "planned_end",
            "submitted_at",
            "decided_at",
            "task_team_leader__username",
            "sector_id",
            "region",
            "targeted_outcomes",
        )
    )
    for relation in ("recipient_countries", "provider_countries", "facilitating_partners"):
        through = getattr(Grant, relation).through
        target = "partner__code" if relation == "facilitating_partners" else "country_id"
        parts += sorted(
            (grant_key[g], c) for g, c in through.objects.values_list("grant_id", target)
        )
    parts += sorted(
        (grant_key[e["grant_id"]], e["title"], str(e["start_date"]), e["status"], e["participants"])
        for e in Exchange.objects.values(
            "grant_id", "title", "start_date", "status", "participants"
        )
    )
    parts += sorted(
        (grant_key[d[0]], str(d[1]), str(d[2]))
        for d in Disbursement.objects.values_list("grant_id", "amount_usd", "disbursed_on")
    )
    parts += sorted(
        (grant_key[h[0]], h[1], str(h[2]), h[3])
        for h in GrantHistory.objects.values_list("grant_id", "action", "at", "actor__username")
    )
    parts += sorted(
        (grant_key[r["grant_id"]], r["rating"], r["lessons"], str(r["accepted_at"]))
        + tuple(r[o] for o in OUTCOME_FIELDS)
        for r in CompletionReport.objects.values(
            "grant_id", "rating", "lessons", "accepted_at", *OUTCOME_FIELDS
        )
    )
    parts += sorted(
        (grant_key[c[0]], c[1], c[2])
        for c in ConcreteResult.objects.values_list("report__grant_id", "kind", "description")
    )
    parts += sorted(
        Contribution.objects.values_list(
            "reference",
            "partner__code",
            "currency",
            "pledged_amount",
            "pledged_usd",
            "received_amount",
            "received_usd",
            "signed_on",
        )
    )
    parts += sorted(
        Receipt.objects.values_list(
            "contribution__reference", "amount", "usd_amount", "received_on"
        )
    )
    parts += sorted(ResultsStory.objects.values_list("slug", "title", "body", "published_at"))
    parts += sorted(
        (grant_key[r[0]], r[1], r[2], r[3], str(r[4]))
        for r in Reminder.objects.values_list(
            "grant_id", "kind", "sequence", "recipient", "sent_at"
        )
    )
    parts += sorted(
        FundAlert.objects.values_list("kind", "raised_at", "resolved_at", "available_usd")
    )
    parts.append(tuple(Fund.objects.values_list("received_usd", "committed_usd", "disbursed_usd")))
    parts += sorted(
        (grant_key[n[0]], n[1], n[2], str(n[3]), n[4], grant_key.get(n[5]), n[6], str(n[7]))
        for n in FollowUpNeed.objects.values_list(
            "grant_id",
            "kind",
            "description",
            "estimated_usd",
            "status",
            "financed_by_grant_id",
            "financed_elsewhere_by",
            "decided_at",
        )
    )
    parts += sorted(
        (grant_key[c[0]], c[1], str(c[2]), str(c[3]), c[4])
        for c in ExPostCheck.objects.values_list(
            "grant_id", "months_after_close", "due_on", "submitted_at", "action_plan_adopted"
        )
    )
    parts += sorted(
        (grant_key[x[0]], x[1], x[2], str(x[3]))
        for x in Lesson.objects.values_list(
            "grant_id", "what_worked", "review_status", "reviewed_at"
        )
    )
    storage = document_storage()
    parts += sorted(
        (grant_key[d[0]], d[1], d[2], d[3], d[4], str(d[5]), storage.open(d[6]).read())
        for d in Document.objects.values_list(
            "grant_id",
            "category",
            "title",
            "filename",
            "content_type",
            "uploaded_at",
            "stored_name",
        )
    )
    parts += sorted(
        (grant_key[c[0]], c[1], c[2], str(c[3]))
        for c in Comment.objects.values_list("grant_id", "author__username", "body", "created_at")
    )
    parts += sorted(Comment.mentions.through.objects.values_list("comment__body", "user__username"))
    parts += sorted(
        (n[0], n[1], grant_key[n[2]], n[3], str(n[4]), str(n[5]), str(n[6]), n[7])
        for n in Notification.objects.values_list(
            "user__username",
            "kind",
            "grant_id",
            "text",
            "created_at",
            "read_at",
            "emailed_at",
            "delivery",
        )
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def generated_fingerprint(portfolio, grants: int, seed: int) -> str:
    """Generate, take the fingerprint, and roll the portfolio back."""
    try:
        with transaction.atomic():
            portfolio(grants, seed)
            digest = fingerprint()
            raise _Rollback
    except _Rollback:
        pass
    assert not Grant.objects.exists()
    return digest


def test_the_same_seed_gives_the_same_portfolio(portfolio):
    first = generated_fingerprint(portfolio, 60, 7)
    assert generated_fingerprint(portfolio, 60, 7) == first
    assert generated_fingerprint(portfolio, 60, 8) != first


def test_the_portfolio_is_realistic(portfolio):
    summary = portfolio(300)
    grants = Grant.objects.all()
    assert grants.count() == summary.grants == 300

    # Every status of the workflow, most grants closed as in a mature fund.
    statuses = Counter(grants.values_list("status", flat=True))
    assert set(statuses) == set(GrantStatus.values)
    assert statuses[GrantStatus.CLOSED] == max(statuses.values())

    # Requested amounts around USD 100,000; approved never above requested.
    requested = [g for g in grants.values_list("requested_usd", flat=True)]
    assert Decimal("80000") <= statistics.median(requested) <= Decimal("125000")
    assert min(requested) >= Decimal("20000") and max(requested) <= Decimal("400000")
    for approved, asked in grants.filter(approved_usd__isnull=False).values_list(
        "approved_usd", "requested_usd"
    ):
        assert 0 < approved <= asked

    # One to five exchanges each.
    per_grant = grants.annotate(n=Count("exchanges")).values_list("n", flat=True)
    assert min(per_grant) >= 1 and max(per_grant) <= 5

    # Countries: at least one recipient; providers never also recipients.
    for grant in grants.prefetch_related("recipient_countries", "provider_countries"):
        recipients = {c.code for c in grant.recipient_countries.all()}
        assert recipients
        assert not recipients & {c.code for c in grant.provider_countries.all()}

    # References SEETF-YYYY-NNNN for every grant ever submitted, and the counters after
    # them (the next submission gets a new number).
    submitted = grants.exclude(status=GrantStatus.DRAFT)
    assert not submitted.filter(reference__isnull=True).exists()
    assert not grants.filter(status=GrantStatus.DRAFT, reference__isnull=False).exists()
    for reference in submitted.values_list("reference", flat=True):
        year, number = reference.split("-")[1:]
        assert ReferenceCounter.objects.get(year=int(year)).last_number >= int(number)

    # Completion reports with outcomes for completed and closed grants, accepted when
    # closed; a draft report for some approved grants.
    finished = grants.filter(status__in=[GrantStatus.COMPLETED, GrantStatus.CLOSED])
    assert not finished.filter(completion_report__isnull=True).exists()
    assert not finished.filter(completion_report__submitted_at__isnull=True).exists()
    assert not grants.filter(
        status=GrantStatus.CLOSED, completion_report__accepted_at__isnull=True
    ).exists()
    for name in OUTCOME_FIELDS:
        assert CompletionReport.objects.filter(**{name: True}).exists()
    assert ConcreteResult.objects.exists()

    # Money in: pledges in several currencies, receipts adding up to each pledge's
    # received totals, never beyond the pledge.
    assert Contribution.objects.values("currency").distinct().count() >= 5
    for c in Contribution.objects.annotate(
        amount=Sum("receipts__amount"), usd=Sum("receipts__usd_amount")
    ):
        assert c.amount == c.received_amount <= c.pledged_amount
        assert c.usd == c.received_usd

    # Money out: disbursements add up to each grant's disbursed amount; closing and
    # cancelling released the rest.
    for g in grants.filter(approved_usd__isnull=False).annotate(
        paid=Sum("disbursements__amount_usd")
    ):
        assert (g.paid or 0) == g.disbursed_usd
        assert g.disbursed_usd + g.released_usd <= g.approved_usd
        if g.status in (GrantStatus.CLOSED, GrantStatus.CANCELLED):
            assert g.disbursed_usd + g.released_usd == g.approved_usd

    # The ledger is exactly what the records say, and available money is not negative.
    ledger = fund_ledger_from_records()
    fund = Fund.objects.get(pk=1)
    assert ledger == {
        "received_usd": fund.received_usd,
        "committed_usd": fund.committed_usd,
        "disbursed_usd": fund.disbursed_usd,
        "allocated_usd": fund.allocated_usd,
    }
    assert fund.available_usd >= 0
    assert fund_summary()["available_usd"] == fund.available_usd == summary.ledger["available_usd"]

    # Stories, reminders already sent, alerts raised and resolved.
    assert ResultsStory.objects.filter(published=True).exists()
    assert Reminder.objects.filter(sent_at__isnull=False).exists()
    assert not Reminder.objects.filter(sent_at__isnull=True).exists()
    assert FundAlert.objects.filter(resolved_at__isnull=False).exists()

    # Every grant's history starts with its creation and ends in its status.
    for grant in grants.prefetch_related("history"):
        history = list(grant.history.all())
        assert history[0].action == "create"
        assert history[-1].to_status == grant.status


def test_the_command_generates_into_an_empty_database_only(db):
    from io import StringIO

    out = StringIO()
    call_command("generate_portfolio", "--grants", "25", "--seed", "3", stdout=out)
    assert "Generated 25 grants" in out.getvalue()
    with pytest.raises(CommandError, match="already holds"):
        call_command("generate_portfolio", "--grants", "25")
    with pytest.raises(CommandError):
        call_command("generate_portfolio", "--grants", "0")


def _constraints_hold(queryset):
    """Every row passes its model's constraints (checked here, not only by the database:
    SQLite and PostgreSQL both enforce them, this says which one failed)."""
    for row in queryset:
        row.validate_constraints()


def test_the_follow_up_rows_are_those_the_services_would_write(portfolio):
    summary = portfolio(400)
    grants = {g.pk: g for g in Grant.objects.all()}
    reports = CompletionReport.objects.all()

    # Needs: on the reports that ask for a follow-up (one or two each), in proportion.
    needs = FollowUpNeed.objects.select_related("report", "financed_by_grant")
    asking = reports.filter(follow_up_needed=True).count()
    assert asking <= needs.count() == summary.follow_up_needs <= 2 * asking
    assert not needs.filter(report__follow_up_needed=False).exists()
    assert not needs.exclude(grant=F("report__grant")).exists()
    _constraints_hold(needs)
    statuses = Counter(
        (n.status, n.financed_by_grant_id is not None, bool(n.financed_elsewhere_by)) for n in needs
    )
    assert statuses[(FollowUpStatus.OPEN, False, False)]
    assert statuses[(FollowUpStatus.FINANCED, True, False)]
    assert statuses[(FollowUpStatus.FINANCED, False, True)]
    assert statuses[(FollowUpStatus.DROPPED, False, False)]
    for need in needs:
        grant = grants[need.grant_id]
        if need.status == FollowUpStatus.OPEN:
            assert need.decided_at is None and need.proposed_grant_id is None
            continue
        # Decided once the grant was completed, by a fund manager, after the report.
        assert grant.status in (GrantStatus.COMPLETED, GrantStatus.CLOSED)
        assert need.decided_by.groups.filter(name=Role.FUND_MANAGER).exists()
        assert need.decided_at > need.report.submitted_at
        if need.financed_by_grant_id:
            # A later grant of the leader, proposed from the need and approved then.
            follow_on = need.financed_by_grant
            assert need.proposed_grant_id == follow_on.pk != grant.pk
            assert follow_on.task_team_leader_id == grant.task_team_leader_id
            assert follow_on.created_at > need.report.submitted_at
            assert follow_on.status in (
                GrantStatus.APPROVED,
                GrantStatus.COMPLETED,
                GrantStatus.CLOSED,
            )
            assert need.decided_at == follow_on.decided_at
        elif need.status == FollowUpStatus.FINANCED:
            assert need.financed_elsewhere_usd > 0
    financing = [n.financed_by_grant_id for n in needs if n.financed_by_grant_id]
    assert len(financing) == len(set(financing))  # each follow-on finances one need

    # Ex-post checks: both of every closed grant, from its closing day, filed by its
    # leader from the due date; none for grants not closed.
    closed = [g for g in grants.values() if g.status == GrantStatus.CLOSED]
    checks = ExPostCheck.objects.all()
    assert checks.count() == 2 * len(closed) == summary.ex_post_checks
    _constraints_hold(checks)
    closings = dict(GrantHistory.objects.filter(action="close").values_list("grant_id", "at"))
    for check in checks:
        closed_on = timezone.localdate(closings[check.grant_id])
        assert check.closed_on == closed_on
        assert check.due_on == add_months(closed_on, check.months_after_close)
        if check.submitted_at is not None:
            assert check.submitted_by_id == grants[check.grant_id].task_team_leader_id
            assert timezone.localdate(check.submitted_at) >= check.due_on
    assert 0 < summary.ex_post_filed < summary.ex_post_checks

    # Lessons: each submitted report's, reviewed when the report was accepted; the
    # migration that made them for existing databases adds only the draft reports'
    # (it copied every report's text; the service copies it when the report is submitted).
    lessons = Lesson.objects.select_related("completion_report")
    submitted = reports.filter(submitted_at__isnull=False)
    assert lessons.count() == submitted.count() == summary.lessons
    _constraints_hold(lessons)
    for lesson in lessons:
        report = lesson.completion_report
        assert lesson.source == f"report:{report.pk}" and lesson.what_worked == report.lessons
        assert (lesson.review_status == LessonReview.APPROVED) == (report.accepted_at is not None)
        assert set(lesson.outcomes.values_list("code", flat=True)) == set(report.outcomes_achieved)
    migration = importlib.import_module("results.migrations.0007_lessons_and_feedback")
    migration.reports_to_lessons(global_apps, None)
    drafts = reports.filter(submitted_at__isnull=True).exclude(lessons="")
    assert drafts.exists()
    assert Lesson.objects.count() == summary.lessons + drafts.count()


def test_the_documents_are_real_files_in_the_documents_storage(portfolio):
    storage = document_storage()
    # Tests write to a folder of their own (seetf/settings/test.py), never the checkout's.
    assert not Path(storage.location).resolve().is_relative_to(settings.BASE_DIR.resolve())
    summary = portfolio(300)
    documents = Document.objects.select_related("exchange", "completion_report")
    assert 300 / 5 <= documents.count() == summary.documents <= 300 / 2
    assert documents.values("stored_name").distinct().count() == summary.documents
    _constraints_hold(documents)
    kinds = Counter()
    for document in documents:
        content = storage.open(document.stored_name).read()
        assert len(content) == document.size > 0
        with storage.open(document.stored_name) as file:
            sniffed = files.sniff(file, size=document.size, name=document.filename)
        assert sniffed.content_type == document.content_type
        assert document.filename == files.safe_filename(document.filename)
        assert document.stored_name.startswith(f"grants/{document.grant_id}/")
        assert not (document.exchange_id and document.completion_report_id)
        if document.exchange_id:
            assert document.exchange.grant_id == document.grant_id
            kinds["exchange"] += 1
        if document.completion_report_id:
            assert document.completion_report.grant_id == document.grant_id
            kinds["report"] += 1
        assert document.uploaded_at >= document.grant.created_at
        kinds[document.content_type] += 1
    assert kinds["exchange"] and kinds["report"]
    assert {files.PDF, files.PNG, files.TEXT, files.CSV} <= set(kinds)
    assert summary.document_bytes == sum(documents.values_list("size", flat=True))


def test_the_comments_and_notifications_are_as_the_services_write_them(portfolio):
    summary = portfolio(300)
    grants = {g.pk: g for g in Grant.objects.select_related("task_team_leader")}
    managers = set(
        get_user_model().objects.filter(groups__name=Role.FUND_MANAGER).values_list("pk", flat=True)
    )

    # Comments, rendered as comment_create renders them, by the leader or a fund
    # manager; mostly on grants still under way; mentions of the other, named in the body.
    comments = Comment.objects.select_related("author")
    assert 300 / 2 <= comments.count() == summary.comments <= 300 * 3
    finished = (GrantStatus.CLOSED, GrantStatus.REJECTED, GrantStatus.CANCELLED)
    on_finished = sum(grants[c.grant_id].status in finished for c in comments)
    assert on_finished < comments.count() / 3
    for comment in comments:
        grant = grants[comment.grant_id]
        assert comment.body_html == render_markdown(comment.body)
        assert comment.author_id == grant.task_team_leader_id or comment.author_id in managers
        assert comment.created_at >= grant.created_at
        for user in comment.mentions.all():
            assert f"@{user.username}" in comment.body and user.pk != comment.author_id
    assert summary.mentions and summary.mentions < summary.comments

    # Notifications of the last year, to leaders and fund managers, in the receivers'
    # words; most read, all but the last day's e-mailed (the catch-up job mails few).
    notifications = Notification.objects.all()
    assert notifications.count() == summary.notifications > summary.comments / 2
    as_of = date(2026, 6, 1)
    assert not notifications.filter(created_at__date__lt=as_of - timedelta(days=366)).exists()
    assert set(notifications.values_list("kind", flat=True)) >= {
        NotificationKind.SUBMITTED,
        NotificationKind.APPROVED,
        NotificationKind.REPORT_SUBMITTED,
        NotificationKind.REPORT_ACCEPTED,
        NotificationKind.DISBURSEMENT,
        NotificationKind.COMMENT,
        NotificationKind.MENTION,
    }
    assert notifications.filter(read_at__isnull=False).count() > 0.7 * summary.notifications
    pending = notifications.filter(emailed_at__isnull=True)
    assert pending.count() == summary.notifications_pending < 0.05 * summary.notifications
    assert not pending.filter(created_at__date__lt=as_of - timedelta(days=1)).exists()
    assert not notifications.filter(read_at__date__gte=as_of).exists()
    daily = notifications.filter(delivery=Delivery.DAILY)
    assert daily.exists() and not daily.filter(emailed_at__date__lt=F("created_at__date")).exists()
    # The same words as the receivers, for one of each workflow notification.
    history = {(h.grant_id, h.at): h for h in GrantHistory.objects.select_related("actor")}
    kinds = {
        v: k
        for k, v in {
            "submit": NotificationKind.SUBMITTED,
            "return": NotificationKind.RETURNED,
            "reject": NotificationKind.REJECTED,
            "approve": NotificationKind.APPROVED,
            "complete": NotificationKind.REPORT_SUBMITTED,
            "accept-report": NotificationKind.REPORT_ACCEPTED,
        }.items()
    }
    checked = set()
    for note in notifications.filter(kind__in=kinds).order_by("pk"):
        if note.kind in checked:
            continue
        event = history[(note.grant_id, note.created_at)]
        grant = grants[note.grant_id]
        kind, users, text, anchor = receivers.TRANSITIONS[kinds[note.kind]](
            grant, event.actor, event.comment, {}, event.from_status
        )
        assert (kind, text(), note.path) == (note.kind, note.text, f"/grants/{grant.pk}/{anchor}")
        assert note.user_id in {u.pk for u in users} - {event.actor_id}
        checked.add(note.kind)
    assert len(checked) >= 5
