"""import_portfolio / export_portfolio: the round trip, the re-import, and each bad file
(its problem shown, nothing written)."""

import io
import zipfile
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction
from openpyxl import Workbook, load_workbook

from audit.models import AuditEntry
from grants.models import Grant, GrantHistory, GrantStatus
from grants.selectors import fund_summary
from partners.models import Contribution, Fund, Partner, Receipt
from partners.selectors import contributions_report
from portability.exporter import export_portfolio, template_rows, write_xlsx
from portability.importer import import_portfolio
from portability.records import portfolio_rows
from results.selectors import capacity_outcomes_report

pytestmark = pytest.mark.django_db


def reports(user) -> dict:
    summary = fund_summary()
    summary.pop("as_of")
    outcomes = capacity_outcomes_report(user=user, grants=Grant.objects.all())
    for row in outcomes["rows"]:
        row.pop("grant")  # the database's id
    return {
        "fund": summary,
        "contributions": contributions_report(),
        "capacity_outcomes": outcomes,
    }


def nothing_written():
    return (
        not Partner.objects.exists()
        and not Contribution.objects.exists()
        and not Grant.objects.exists()
        and Fund.objects.get(pk=1).received_usd == 0
    )


def save(tmp_path, data: bytes, name="portfolio.xlsx"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def workbook(rows: dict) -> bytes:
    return write_xlsx(rows)


def template():
    return {sheet: [dict(r) for r in rows] for sheet, rows in template_rows().items()}


def test_round_trip_of_the_2011_review(tmp_path, fund_manager):
    with transaction.atomic():
        call_command("load_review_2011", stdout=io.StringIO())
        before = reports(fund_manager)
        exported = portfolio_rows()
        data = export_portfolio()
        transaction.set_rollback(True)
    assert nothing_written()
    result = import_portfolio(save(tmp_path, data), user=fund_manager)
    assert result.problems == []
    assert result.created["grants"] == 21 and result.created["receipts"] == 9
    assert reports(fund_manager) == before
    assert before["contributions"]["totals"]["received_usd"] == Decimal("9516087.00")
    assert portfolio_rows() == exported
    # The decisions happened at the file's dates, through the workflow.
    approve = GrantHistory.objects.filter(action="approve").first()
    assert approve.at.date().isoformat() == "2009-06-01" and approve.actor == fund_manager
    assert set(GrantHistory.objects.values_list("action", flat=True)) == {
        "create",
        "submit",
        "approve",
        "complete",
        "accept-report",
        "close",
    }
    entry = AuditEntry.objects.get(action="portfolio.import")
    assert entry.actor == fund_manager and entry.changes["created"]["grants"] == 21

    # A re-import of the same file changes nothing.
    history = GrantHistory.objects.count()
    again = import_portfolio(save(tmp_path, data), user=fund_manager)
    assert again.problems == [] and sum(again.created.values()) == 0
    assert again.skipped["grants"] == 21
    assert GrantHistory.objects.count() == history
    assert reports(fund_manager) == before


def same_rows(mine: dict, theirs: dict) -> bool:
    """The workbook's rows, sheet by sheet, whatever their order (the export orders some
    sheets by the database's ids)."""
    for sheet in theirs:
        a = sorted(repr(sorted(r.items())) for r in mine[sheet])
        b = sorted(repr(sorted(r.items())) for r in theirs[sheet])
        assert a == b, sheet
    return set(mine) == set(theirs)


def lists() -> dict:
    """The windows list, the offers and the requests as the API gives them, but for the
    database's ids and the time of day of a creation (the import keeps the day)."""
    from brokering.api.serializers import OfferSerializer, RequestSerializer
    from brokering.models import ExchangeRequest, Offer
    from partners.api.windows import WindowSerializer
    from partners.models import Window

    def plain(data, drop=("id",)):
        row = {k: v for k, v in dict(data).items() if k not in drop}
        if "created_at" in row:
            row["created_at"] = row["created_at"][:10]
        return row

    windows = Window.objects.prefetch_related("sectors", "approver_limits__user")
    offers = Offer.objects.prefetch_related("sectors").order_by("reference")
    requests = ExchangeRequest.objects.prefetch_related("sectors").order_by("reference")
    return {
        "windows": [plain(WindowSerializer(w).data) for w in windows],
        "offers": [plain(OfferSerializer(o).data) for o in offers],
        "requests": [plain(RequestSerializer(r).data) for r in requests],
    }


@pytest.mark.postgres
def test_round_trip_of_a_generated_portfolio_of_2000_grants(tmp_path, fund_manager):
    from bench.portfolio import generate_portfolio
    from brokering.models import ExchangeRequest, Offer
    from partners.models import Window, WindowMovement

    with transaction.atomic():
        generate_portfolio(grants=2000, seed=7)
        before = reports(fund_manager)
        listed = lists()
        exported = portfolio_rows()
        data = export_portfolio()
        transaction.set_rollback(True)
    assert nothing_written() and not Window.objects.exists() and not Offer.objects.exists()
    assert len(listed["windows"]) == 5 and sum(1 for g in exported["grants"] if g["window"])
    assert len(listed["offers"]) == 1000 and len(listed["requests"]) == 200
    result = import_portfolio(save(tmp_path, data), user=fund_manager)
    assert result.problems == []
    assert result.created["windows"] == 5 and result.created["offers"] == 1000
    assert reports(fund_manager) == before
    assert lists() == listed
    assert same_rows(portfolio_rows(), exported)

    # A re-import of the same file changes nothing.
    counts = (
        WindowMovement.objects.count(),
        Offer.objects.count(),
        ExchangeRequest.objects.count(),
    )
    again = import_portfolio(save(tmp_path, data), user=fund_manager)
    assert again.problems == [] and sum(again.created.values()) == 0
    assert again.skipped["windows"] == 5 and again.skipped["requests"] == 200
    assert (
        WindowMovement.objects.count(),
        Offer.objects.count(),
        ExchangeRequest.objects.count(),
    ) == counts
    assert reports(fund_manager) == before and lists() == listed


def test_the_template_imports_as_a_dry_run_and_writes_nothing(tmp_path, fund_manager):
    path = tmp_path / "template.xlsx"
    call_command("import_portfolio", "--template", str(path), stdout=io.StringIO())
    sheets = load_workbook(path, read_only=True).sheetnames
    assert "codes" in sheets and "grants" in sheets
    result = import_portfolio(path, user=fund_manager, dry_run=True)
    assert result.problems == []
    assert result.created["grants"] == 1
    assert nothing_written()
    # And for real: the example is a closed grant with its whole life.
    result = import_portfolio(path, user=fund_manager)
    assert result.written
    grant = Grant.objects.get(reference="SEETF-2020-0001")
    assert grant.status == GrantStatus.CLOSED
    assert grant.approved_usd == Decimal("95000.00")
    fund = Fund.objects.get(pk=1)
    assert fund.committed_usd == Decimal("90000.00")  # 5,000 released at closing


def test_a_csv_folder_reads_as_the_workbook(tmp_path, fund_manager):
    folder = tmp_path / "csv"
    call_command("import_portfolio", "--template", str(folder), stdout=io.StringIO())
    assert (folder / "grants.csv").exists()
    result = import_portfolio(folder, user=fund_manager)
    assert result.problems == [] and result.created["grants"] == 1


def problems_of(tmp_path, rows, fund_manager):
    result = import_portfolio(save(tmp_path, workbook(rows)), user=fund_manager)
    assert not result.written
    assert nothing_written()
    return [(p.sheet, p.row, p.column) for p in result.problems], result.problems


def test_wrong_types_and_unknown_codes_are_each_reported(tmp_path, fund_manager):
    rows = template()
    rows["contributions"][0]["pledged_amount"] = "a lot"
    rows["receipts"][0]["received_on"] = "last spring"
    rows["grants"][0]["sector"] = "99999"
    rows["grants"][0]["recipient_countries"] = "KEN XXX"
    rows["partners"][0]["country"] = "ZZZ"
    where, problems = problems_of(tmp_path, rows, fund_manager)
    assert ("contributions", 2, "pledged_amount") in where
    assert ("receipts", 2, "received_on") in where
    assert ("grants", 2, "sector") in where
    assert ("grants", 2, "recipient_countries") in where
    assert ("partners", 2, "country") in where
    text = " ".join(str(p) for p in problems)
    assert "XXX" in text and "99999" in text and "'a lot' is not an amount" in text


def test_a_receipt_beyond_its_pledge(tmp_path, fund_manager):
    rows = template()
    rows["receipts"].append(dict(rows["receipts"][0], received_on="2020-02-20"))
    rows["receipts"][1]["amount"] = Decimal("250000.00")
    rows["receipts"][1]["usd_amount"] = Decimal("250000.00")
    where, problems = problems_of(tmp_path, rows, fund_manager)
    assert ("receipts", 3, "amount") in where
    assert "within its pledge" in str(problems[0])


def test_an_approval_beyond_the_money_received_at_the_time(tmp_path, fund_manager):
    rows = template()
    rows["receipts"][0]["received_on"] = "2020-03-02"  # the day after the approval
    where, problems = problems_of(tmp_path, rows, fund_manager)
    assert where == [("grants", 2, "approved_usd")]
    assert "On 2020-03-01 the fund had 0.00 USD available" in str(problems[0])


def test_duplicate_references(tmp_path, fund_manager):
    rows = template()
    rows["grants"].append(dict(rows["grants"][0]))
    rows["contributions"].append(dict(rows["contributions"][0]))
    where, _ = problems_of(tmp_path, rows, fund_manager)
    assert ("grants", 3, "reference") in where
    assert ("contributions", 3, "reference") in where


def test_formulas_are_refused(tmp_path, fund_manager):
    book = Workbook()
    sheet = book.active
    sheet.title = "partners"
    sheet.append(["code", "name", "kind"])
    sheet.append(["EXM", '=CONCAT("A","B")', "traditional_donor"])
    out = io.BytesIO()
    book.save(out)
    result = import_portfolio(save(tmp_path, out.getvalue()), user=fund_manager)
    assert [(p.sheet, p.row, p.column) for p in result.problems] == [("partners", 2, "name")]
    assert "formula" in result.problems[0].message
    assert nothing_written()


def test_a_file_over_the_size_limit(tmp_path, fund_manager, settings):
    settings.PORTFOLIO_IMPORT_MAX_BYTES = 1000
    data = workbook(template())
    assert len(data) > 1000
    result = import_portfolio(save(tmp_path, data), user=fund_manager)
    assert "may be at most" in result.problems[0].message
    assert nothing_written()


def test_a_zip_bomb_disguised_as_xlsx(tmp_path, fund_manager):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (50 * 1024 * 1024))
    data = out.getvalue()
    assert len(data) < 1024 * 1024
    result = import_portfolio(save(tmp_path, data), user=fund_manager)
    assert "zip bomb" in result.problems[0].message
    assert nothing_written()


def test_not_a_zip_at_all(tmp_path, fund_manager):
    result = import_portfolio(save(tmp_path, b"code,name\nEXM,Example\n"), user=fund_manager)
    assert "not an Excel workbook" in result.problems[0].message
    assert nothing_written()


def test_a_dry_run_reports_a_thousand_errors_in_one_pass(tmp_path, fund_manager):
    rows = template()
    example = rows["grants"][0]
    rows["grants"] = [
        dict(example, reference=f"SEETF-2020-{i:04d}", sector="00000") for i in range(1, 1001)
    ]
    result = import_portfolio(save(tmp_path, workbook(rows)), user=fund_manager, dry_run=True)
    sectors = [p for p in result.problems if p.column == "sector"]
    assert len(sectors) == 1000
    assert nothing_written()


def test_a_different_record_held_already_is_a_problem_not_a_change(tmp_path, fund_manager):
    path = save(tmp_path, workbook(template()))
    assert import_portfolio(path, user=fund_manager).written
    rows = template()
    rows["grants"][0]["title"] = "Another title"
    result = import_portfolio(save(tmp_path, workbook(rows), "b.xlsx"), user=fund_manager)
    assert [(p.sheet, p.column) for p in result.problems] == [("grants", "title")]
    assert "does not change them" in result.problems[0].message
    assert Grant.objects.get().title != "Another title"
    assert Receipt.objects.count() == 1


def test_only_fund_managers_import(tmp_path, leader):
    result = import_portfolio(save(tmp_path, workbook(template())), user=leader)
    assert "Only fund managers" in result.problems[0].message
    assert nothing_written()


def test_the_commands(tmp_path):
    path = tmp_path / "t.xlsx"
    call_command("import_portfolio", "--template", str(path), stdout=io.StringIO())
    out = io.StringIO()
    call_command("import_portfolio", str(path), "--dry-run", stdout=out)
    assert "Nothing was written" in out.getvalue()
    assert nothing_written()
    call_command("import_portfolio", str(path), stdout=out)
    exported = tmp_path / "out.xlsx"
    call_command("export_portfolio", str(exported), stdout=out)
    names = load_workbook(exported, read_only=True).sheetnames
    assert names[:6] == [
        "partners",
        "contributions",
        "receipts",
        "windows",
        "window_movements",
        "grants",
    ]


def test_a_refusal_by_a_service_rolls_everything_back(tmp_path, fund_manager, monkeypatch):
    """A rule the checks did not foresee: the service's refusal is the row's problem,
    and what was written before it is rolled back."""
    from portability import importer

    def refuse(**kwargs):
        raise importer.ApplicationError("Refused for the test.", code="invalid_transition")

    monkeypatch.setattr(importer, "fund_commit", refuse)
    result = import_portfolio(save(tmp_path, workbook(template())), user=fund_manager)
    assert [(p.sheet, p.row, p.message) for p in result.problems] == [
        ("grants", 2, "Refused for the test.")
    ]
    assert nothing_written()
    assert not AuditEntry.objects.filter(action="portfolio.import").exists()


def test_the_template_folder_in_docs_is_what_the_command_writes(tmp_path):
    """docs/portfolio-template/ (the README's dry run imports it) stays the template."""
    from pathlib import Path

    docs = Path(__file__).resolve().parents[2] / "docs" / "portfolio-template"
    fresh = tmp_path / "template"
    call_command("import_portfolio", "--template", str(fresh), stdout=io.StringIO())
    names = sorted(p.name for p in fresh.iterdir())
    assert names == sorted(p.name for p in docs.iterdir())
    for name in names:
        assert (docs / name).read_text() == (fresh / name).read_text(), name


@pytest.mark.parametrize(("approved_on", "accepted"), [("2020-06-01", False), ("2021-01-10", True)])
def test_the_money_a_closing_releases_funds_a_later_approval_only(
    tmp_path, fund_manager, approved_on, accepted
):
    """100,000 received; grant 1 approves 95,000, pays 90,000 and closes on 2020-12-15,
    releasing 5,000. A second grant of 8,000 fits only after that closing."""
    rows = template()
    second = dict(
        rows["grants"][0],
        reference="SEETF-2020-0002",
        status="approved",
        requested_usd=Decimal("8000.00"),
        approved_usd=Decimal("8000.00"),
        created_on=approved_on,
        submitted_on=approved_on,
        review_started_on=approved_on,
        decided_on=approved_on,
        ended_on=None,
    )
    rows["grants"].append(second)
    rows["contributions"][0]["pledged_amount"] = rows["contributions"][0]["pledged_usd"] = Decimal(
        "100000.00"
    )
    rows["receipts"][0]["amount"] = rows["receipts"][0]["usd_amount"] = Decimal("100000.00")
    result = import_portfolio(save(tmp_path, workbook(rows)), user=fund_manager)
    if accepted:
        assert result.problems == []
        fund = Fund.objects.get(pk=1)
        assert fund.committed_usd == Decimal("98000.00")  # 95,000 - 5,000 + 8,000
        # 100,000 - 98,000 committed - the template's 1,000 allocated to its window.
        assert fund.available_usd == Decimal("1000.00")
    else:
        assert [(p.sheet, p.row, p.column) for p in result.problems] == [
            ("grants", 3, "approved_usd")
        ]
        assert "On 2020-06-01 the fund had 5,000.00 USD available" in result.problems[0].message
        assert nothing_written()


def test_a_facilitating_partner_comes_in_as_the_grants_facilitator_role(tmp_path, fund_manager):
    """The importer's batch keeps what ``grant_create`` keeps: each facilitating partner
    is a partner role ``facilitator`` of the grant (partner_roles)."""
    from grants.models import GrantPartnerRole

    rows = template()
    rows["grants"][0]["facilitating_partners"] = "EXM"
    # A traditional donor beside a provider country: triangular, so the approval needs
    # the recipient's endorsement (409 not_endorsed through the API; a problem here).
    refused = import_portfolio(save(tmp_path, workbook(rows)), user=fund_manager)
    assert [(p.sheet, p.column) for p in refused.problems] == [("grants", "reference")]
    assert "endorsement" in refused.problems[0].message and nothing_written()
    rows["grants"][0]["recipient_endorsed_on"] = rows["grants"][0]["submitted_on"]
    result = import_portfolio(save(tmp_path, workbook(rows)), user=fund_manager)
    assert result.problems == []
    grant = Grant.objects.get(reference=rows["grants"][0]["reference"])
    assert [p.code for p in grant.facilitating_partners.all()] == ["EXM"]
    assert list(
        GrantPartnerRole.objects.filter(grant=grant).values_list("partner__code", "role")
    ) == [("EXM", "facilitator")]


def test_the_export_streams_in_batches_and_round_trips(tmp_path, fund_manager, monkeypatch):
    """``write`` appends the grants' sheets a batch at a time (here 4 grants of 21): the
    file holds every row the one-piece export holds, and imports to the same portfolio."""
    from portability import records
    from portability.exporter import write

    monkeypatch.setattr(records, "GRANT_BATCH", 4)
    with transaction.atomic():
        call_command("load_review_2011", stdout=io.StringIO())
        exported = portfolio_rows()
        batches = list(records.grant_row_batches())
        path = tmp_path / "streamed.xlsx"
        write(path)
        transaction.set_rollback(True)
    assert len(batches) == 6
    for sheet in ("grants", "exchanges", "disbursements", "completion_reports"):
        streamed = [row for batch in batches for row in batch[sheet]]
        assert len(streamed) == len(exported[sheet]) and exported[sheet]
        assert sorted(map(repr, streamed)) == sorted(map(repr, exported[sheet]))
    assert [row for batch in batches for row in batch["grants"]] == exported["grants"]
    result = import_portfolio(path, user=fund_manager)
    assert result.problems == []
    assert result.created["grants"] == 21
    assert same_rows(portfolio_rows(), exported)
