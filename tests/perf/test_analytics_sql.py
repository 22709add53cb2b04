"""PostgreSQL computes the cycle-times and exchange-flows reports in one statement each
(analytics.cycletimes_sql, flows_sql) and scores the suggestions' candidates from signals
the database reads (brokering.scoring): on a generated portfolio, every grouping gives
exactly what the portable computation in Python gives."""

import pytest

from analytics import cycletimes, portfolio
from analytics.cycletimes_sql import cycle_times_postgres
from analytics.flows_sql import exchange_flows_postgres
from brokering import scoring
from brokering.models import ExchangeRequest, RequestStatus
from grants.models import Grant, GrantStatus

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.mark.parametrize("group_by", cycletimes.GROUP_BY_CHOICES)
def test_the_cycle_times_statement_gives_what_python_counts(portfolio_of_200, group_by):
    for grants in (Grant.objects.all(), Grant.objects.filter(region="AFR")):
        expected = cycletimes.cycle_times_python(grants, group_by)
        assert expected["rows"] and expected["totals"]["grants"]
        assert cycle_times_postgres(grants, group_by) == expected


@pytest.mark.parametrize("by", portfolio.FLOW_BY)
def test_the_flows_statement_gives_what_python_pairs(portfolio_of_200, by):
    for grants in (Grant.objects.all(), Grant.objects.filter(status=GrantStatus.CLOSED)):
        expected = portfolio.flows_of(portfolio._flow_data(grants), by)
        assert expected["rows"]
        assert exchange_flows_postgres(grants, by) == expected


def test_the_databases_signals_are_the_ones_python_reads(portfolio_of_200, monkeypatch):
    """Every candidate (100 offers at 200 grants: all of them within the limit) with the
    same reasons from either path, the text similarity aside (full-text rank against
    word overlap, by design)."""

    def explained(suggestions):
        return {
            s.offer_id: [r for r in s.reasons if not r.startswith("similar")] for s in suggestions
        }

    requests = ExchangeRequest.objects.filter(status=RequestStatus.OPEN).prefetch_related("sectors")
    compared = 0
    for request in requests.select_related("recipient_country").order_by("pk")[:10]:
        database = explained(scoring.suggest(request, limit=scoring.MAX_LIMIT))
        with monkeypatch.context() as patch:
            patch.setattr(scoring, "_postgres", lambda: False)
            python = explained(scoring.suggest(request, limit=scoring.MAX_LIMIT))
        assert database == python
        compared += len(database)
    assert compared > 10


@pytest.fixture
def portfolio_of_200(portfolio):
    return portfolio(200)


def test_ranking_only_the_candidates_that_can_be_shown_gives_the_full_ranking(
    portfolio_of_200, monkeypatch
):
    """The text rank is computed only for candidates whose other points leave them a
    chance (brokering.ranking_sql): for every limit, the offers shown, their order,
    scores and reasons are those of ranking every candidate in full."""
    import functools

    requests = ExchangeRequest.objects.filter(status=RequestStatus.OPEN).prefetch_related("sectors")
    full_ranking = functools.partial(scoring._ranked_postgres, cut=False)
    compared = 0
    for request in requests.select_related("recipient_country").order_by("pk")[:10]:
        for limit in (1, 3, 10, 20):
            shown = scoring.suggest(request, limit=limit)
            with monkeypatch.context() as patch:
                patch.setattr(scoring, "_ranked_postgres", full_ranking)
                full = scoring.suggest(request, limit=limit)
            assert [(s.offer_id, s.score, s.reasons) for s in shown] == [
                (s.offer_id, s.score, s.reasons) for s in full
            ]
            compared += len(full)
    assert compared > 50
