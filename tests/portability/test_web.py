"""/import/: the fund managers' upload page (the importer's code path), the template and
the export downloads; every other role is refused."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from grants.models import Grant
from portability.exporter import template_workbook

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload(data: bytes, name="portfolio.xlsx"):
    return SimpleUploadedFile(name, data, content_type=XLSX)


@pytest.mark.parametrize(
    ("who", "status"),
    [("fund_manager", 200), ("leader", 403), ("donor", 403), ("no_role", 403)],
)
def test_who_sees_the_page(web, who, status):
    for path in ("/import/", "/import/template.xlsx", "/import/portfolio.xlsx"):
        assert web(who).get(path).status_code == status


def test_anonymous_is_sent_to_log_in(web):
    response = web().get("/import/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_page_offers_the_template_and_the_export(web):
    page = web("fund_manager").get("/import/").content.decode()
    assert 'href="/import/template.xlsx"' in page and 'href="/import/portfolio.xlsx"' in page
    assert 'enctype="multipart/form-data"' in page and "<script" not in page.split("</head>")[1]
    response = web("fund_manager").get("/import/template.xlsx")
    assert response["Content-Type"] == XLSX
    assert "codes" in load_workbook(io.BytesIO(response.content), read_only=True).sheetnames


def test_a_dry_run_upload_says_what_it_would_create_and_writes_nothing(web):
    response = web("fund_manager").post(
        "/import/", {"file": upload(template_workbook()), "dry_run": "on"}, follow=True
    )
    assert response.status_code == 200
    assert "would create" in response.content.decode()
    assert not Grant.objects.exists()


def test_an_upload_imports(web, fund_manager):
    response = web("fund_manager").post("/import/", {"file": upload(template_workbook())})
    assert response.status_code == 200
    assert "Imported:" in response.content.decode()
    assert Grant.objects.get().history.filter(action="approve").get().actor == fund_manager


def test_a_bad_file_shows_the_problem_table(web):
    response = web("fund_manager").post("/import/", {"file": upload(b"not a workbook")})
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="problem-table"' in page and "not an Excel workbook" in page
    assert not Grant.objects.exists()


def test_the_export_is_the_workbook_the_import_reads(web):
    web("fund_manager").post("/import/", {"file": upload(template_workbook())})
    response = web("fund_manager").get("/import/portfolio.xlsx")
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    rows = list(book["grants"].iter_rows(values_only=True))
    assert rows[1][0] == "SEETF-2020-0001"
