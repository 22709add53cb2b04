"""The grant page reads its grant's and its exchanges' countries in one statement each
(``grants.views._prefetch_countries``): each relation keeps its own countries, in
Country's order, and an exchange without countries shows none."""

import re
from datetime import date

import pytest

from grants import services
from grants.models import GrantStatus
from partners.models import Country
from tests.factories import fund_with
from tests.grants.factories import make_grant

pytestmark = pytest.mark.django_db


def _countries(*codes):
    return [Country.objects.get(code=code) for code in codes]


def test_each_relation_shows_its_own_countries_in_order(web, leader, fund_manager):
    fund_with("1000000.00")
    grant = make_grant(
        leader,
        GrantStatus.APPROVED,
        manager=fund_manager,
        recipient_countries=_countries("KEN", "BRA"),
        provider_countries=_countries("MEX"),
    )
    for title, providers, recipients in [
        ("First", ["MEX", "CHL"], ["KEN"]),
        ("Second", [], []),
        ("Third", ["BRA"], ["MEX", "KEN", "ARG"]),
    ]:
        services.exchange_create(
            grant=grant,
            user=leader,
            instrument="workshop",
            title=title,
            start_date=date(2026, 2, 1),
            end_date=date(2026, 2, 2),
            provider_countries=_countries(*providers),
            recipient_countries=_countries(*recipients),
        )
    page = web(leader).get(f"/grants/{grant.pk}/").content.decode()
    assert "<dt>Recipient countries</dt><dd>Brazil, Kenya</dd>" in page
    assert "<dt>Provider countries</dt><dd>Mexico</dd>" in page
    cells = re.findall(r'<tr data-testid="exchange-row">.*?</tr>', page, re.S)
    # The cell after the dates.
    countries = [re.search(r"\d</td>\s*<td>([^<]*)</td>", row).group(1) for row in cells]
    # Chile before Mexico, Argentina, Kenya, Mexico: by name, not by code.
    assert countries == ["CHL, MEX → KEN", "", "BRA → ARG, KEN, MEX"]
