"""Date-time query parameters the database cannot compare are a 400, not a 500: the
fuzzer sent ``until=0476-10-30T16:36:21-20:54`` to the audit log (PostgreSQL: "time zone
displacement out of range")."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url, name",
    [
        ("/api/v1/audit/?until=0476-10-30T16:36:21-20:54", "until"),
        ("/api/v1/audit/?since=2026-01-01T00:00:00%2B15:00", "since"),
        ("/api/v1/audit/?since=0001-01-01T00:00:00%2B01:00", "since"),
        ("/api/v1/auth/logins/?since=2026-01-01T00:00:00-23:59", "since"),
    ],
)
def test_an_offset_beyond_any_time_zone_is_a_400_naming_it(client_for, url, name):
    response = client_for("fund_manager").get(url)
    assert response.status_code == 400, response.content
    assert list(response.json()) == [name]


def test_a_real_zone_and_a_date_still_filter(client_for):
    client = client_for("fund_manager")
    assert client.get("/api/v1/audit/?since=2026-01-01T00:00:00%2B14:00").status_code == 200
    assert client.get("/api/v1/audit/?until=2026-01-01").status_code == 200
    assert client.get("/api/v1/auth/logins/?since=2026-01-01T00:00:00-12:00").status_code == 200
