"""Set-up for the scale tests: a generated portfolio (bench.portfolio) and users of each
role in it (their clients: tests/conftest.py)."""

import pytest
from django.contrib.auth import get_user_model

from bench.portfolio import generate_portfolio
from partners.models import Partner
from partners.roles import Role
from partners.services import user_create_or_update


@pytest.fixture(autouse=True)
def _no_static_scan(settings):
    """WhiteNoise with USE_FINDERS walks every static folder for each new client."""
    settings.WHITENOISE_USE_FINDERS = False


@pytest.fixture
def portfolio(db):
    """generate(n, seed=1) -> the summary; the portfolio is rolled back with the test."""

    def generate(grants: int, seed: int = 1):
        return generate_portfolio(grants=grants, seed=seed)

    return generate


@pytest.fixture
def role_users(db):
    """A fund manager, a donor of GBR (a partner of the generated portfolio) and, once a
    portfolio exists, one of its task team leaders: made after generating it."""

    def make():
        from grants.models import Grant

        leader = (
            get_user_model()
            .objects.filter(led_grants__status="approved")
            .order_by("username")
            .first()
        )
        assert leader is not None and Grant.objects.exists()
        return {
            "fund_manager": user_create_or_update(
                username="perf-fm", roles=[Role.FUND_MANAGER], email="perf-fm@example.org"
            ),
            "donor": user_create_or_update(
                username="perf-donor",
                roles=[Role.DONOR],
                partner=Partner.objects.get(code="GBR"),
                email="perf-donor@example.org",
            ),
            "task_team_leader": leader,
        }

    return make
