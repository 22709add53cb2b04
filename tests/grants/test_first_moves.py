"""The first-move dates a grant keeps (``Grant.first_submitted_on``, ``first_approved_on``,
what the overdue list walks by) equal its history's first move to each status, as a date
of the fund's time zone, after every kind of write: the services' transitions, the
importer, the 2011 review's loader, the benchmark's generator; and once recomputed after
a change of TIME_ZONE. Likewise what it keeps of its completion report
(``report_submitted_on``, ``report_accepted_at``, what the fund manager's home walks the
completed grants by)."""

import io
from datetime import date

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from grants.models import Grant, GrantHistory, GrantStatus
from results import services as result_services
from results.models import CompletionReport
from tests.analytics import timelines
from tests.grants.factories import REPORT, make_grant

pytestmark = pytest.mark.django_db


def history_first_moves() -> dict[int, tuple]:
    """Each grant's (first submitted, first approved) local dates read from its history
    rows, the first by (at, id) as the cycle times read them."""
    zone = timezone.get_default_timezone()
    firsts = {}
    rows = GrantHistory.objects.order_by("at", "id").values_list("grant_id", "at", "to_status")
    for grant_id, at, to_status in rows:
        firsts.setdefault((grant_id, to_status), at.astimezone(zone).date())
    return {
        pk: (firsts.get((pk, GrantStatus.SUBMITTED)), firsts.get((pk, GrantStatus.APPROVED)))
        for pk in Grant.objects.values_list("pk", flat=True)
    }


def kept_first_moves() -> dict[int, tuple]:
    rows = Grant.objects.values_list("pk", "first_submitted_on", "first_approved_on")
    return {pk: (submitted, approved) for pk, submitted, approved in rows}


def report_dates_of_reports() -> dict[int, tuple]:
    """Each grant's report's (submission as a local date, acceptance), or Nones."""
    zone = timezone.get_default_timezone()
    reports = {
        grant_id: (submitted and submitted.astimezone(zone).date(), accepted)
        for grant_id, submitted, accepted in CompletionReport.objects.values_list(
            "grant_id", "submitted_at", "accepted_at"
        )
    }
    return {pk: reports.get(pk, (None, None)) for pk in Grant.objects.values_list("pk", flat=True)}


def kept_report_dates() -> dict[int, tuple]:
    rows = Grant.objects.values_list("pk", "report_submitted_on", "report_accepted_at")
    return {pk: (submitted, accepted) for pk, submitted, accepted in rows}


def assert_kept() -> dict[int, tuple]:
    kept = kept_first_moves()
    assert kept == history_first_moves()
    assert any(submitted for submitted, _ in kept.values())
    assert any(approved for _, approved in kept.values())
    reports = kept_report_dates()
    assert reports == report_dates_of_reports()
    assert any(submitted for submitted, _ in reports.values())
    assert any(accepted for _, accepted in reports.values())
    return kept


@pytest.fixture
def copenhagen(settings):
    settings.TIME_ZONE = timelines.FUND_ZONE


def test_the_services_keep_them(copenhagen, leader, fund_manager):
    grants = timelines.build(leader, fund_manager)
    kept = assert_kept()
    # A was submitted three times: the first submission counts.
    assert kept[grants["A"].pk] == (date(2026, 3, 2), date(2026, 3, 23))
    # D was approved at 00:30 on 30 March in Copenhagen (22:30 UTC on the 29th).
    assert kept[grants["D"].pk] == (date(2026, 3, 28), date(2026, 3, 30))
    assert kept[grants["B"].pk] == (date(2026, 3, 10), None)


def test_a_change_of_time_zone_is_recomputed_by_the_command(
    copenhagen, leader, fund_manager, settings
):
    grants = timelines.build(leader, fund_manager)
    settings.TIME_ZONE = "UTC"
    # The dates written in Copenhagen's stay until recomputed.
    assert kept_first_moves()[grants["D"].pk] == (date(2026, 3, 28), date(2026, 3, 30))
    out = io.StringIO()
    call_command("grant_first_moves", stdout=out)
    assert f"{len(grants)} grant(s)" in out.getvalue()
    kept = assert_kept()
    assert kept[grants["D"].pk] == (date(2026, 3, 28), date(2026, 3, 29))


def test_the_review_loader_keeps_them():
    call_command("load_review_2011", stdout=io.StringIO())
    kept = assert_kept()
    assert len(kept) == 21
    assert set(kept.values()) == {(date(2009, 5, 4), date(2009, 6, 1))}


def test_the_importer_keeps_them(tmp_path, fund_manager):
    from portability.exporter import export_portfolio
    from portability.importer import import_portfolio

    with transaction.atomic():
        call_command("load_review_2011", stdout=io.StringIO())
        data = export_portfolio()
        transaction.set_rollback(True)
    assert not Grant.objects.exists()
    path = tmp_path / "portfolio.xlsx"
    path.write_bytes(data)
    assert import_portfolio(path, user=fund_manager).problems == []
    kept = assert_kept()
    assert len(kept) == 21 and all(submitted and approved for submitted, approved in kept.values())


def test_the_generator_keeps_them(copenhagen):
    from bench.portfolio import generate_portfolio

    generate_portfolio(grants=300, seed=5)
    kept = assert_kept()
    assert sum(1 for submitted, _ in kept.values() if submitted) > 200


def test_the_report_effects_keep_what_the_grant_keeps_of_its_report(
    copenhagen, leader, fund_manager, funded, settings
):
    """Submitted at 00:30 in Copenhagen (22:30 UTC the day before), returned, submitted
    again, accepted: the grant follows its report at each step; a change of TIME_ZONE is
    recomputed by the command."""
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    result_services.completion_report_save(grant=grant, user=leader, **REPORT)
    with time_machine.travel(timelines.at(2026, 5, 4, 0, 30), tick=False):
        result_services.completion_report_submit(grant=grant, user=leader)
    assert kept_report_dates()[grant.pk] == (date(2026, 5, 4), None)
    result_services.completion_report_return(grant=grant, user=fund_manager, comment="Redo.")
    assert kept_report_dates()[grant.pk] == (None, None)
    grant.refresh_from_db()
    with time_machine.travel(timelines.at(2026, 5, 6, 0, 30), tick=False):
        result_services.completion_report_submit(grant=grant, user=leader)
    accepted = timelines.at(2026, 5, 7)
    with time_machine.travel(accepted, tick=False):
        result_services.completion_report_accept(grant=grant, user=fund_manager)
    assert kept_report_dates()[grant.pk] == (date(2026, 5, 6), accepted)
    assert kept_report_dates() == report_dates_of_reports()
    settings.TIME_ZONE = "UTC"
    call_command("grant_first_moves", stdout=io.StringIO())
    assert kept_report_dates()[grant.pk] == (date(2026, 5, 5), accepted)
    assert kept_report_dates() == report_dates_of_reports()


def test_the_command_follows_a_report_changed_behind_the_workflow(funded, leader, fund_manager):
    grant = make_grant(leader, GrantStatus.CLOSED, manager=fund_manager)
    report = CompletionReport.objects.get(grant=grant)
    moved = report.accepted_at + timezone.timedelta(days=3)
    # An UPDATE of the report alone (SQL, a data fix): the grant's copy is behind.
    CompletionReport.objects.filter(pk=report.pk).update(accepted_at=moved)
    assert kept_report_dates()[grant.pk][1] != moved
    call_command("grant_first_moves", stdout=io.StringIO())
    assert kept_report_dates()[grant.pk][1] == moved
    assert kept_report_dates() == report_dates_of_reports()
