"""The portfolio indicators on PostgreSQL, summed over the facts kept with the exchange
flows' (``flows_sql``, analytics 0003): each grant's own row (its exchanges held, their
participants and women, its approved amount, whether it held a study tour and reports a
concrete result) and a row per country it involves as recipient or provider (its own
countries and its exchanges held's), with their sums per grant status. Counting them
from the grants took three statements over every grant in scope, its exchanges, its
report's results and four many-to-many tables (2.7 s at 200,000 grants); over the sums
of a scope of whole statuses it is a few hundred rows. The definitions are
``portfolio``'s; the tests compare the two."""

from __future__ import annotations

from .cycletimes_sql import _in
from .flows_sql import FACTS, TOTALS, read_kept
from .models import GRANT_FACTS, PROVIDER_COUNTRY, RECIPIENT_COUNTRY

KINDS = f"kind IN ('{GRANT_FACTS}', '{RECIPIENT_COUNTRY}', '{PROVIDER_COUNTRY}')"


def _statement(completed) -> str:
    """Over the facts of the grants in scope (``__SCOPED__``)."""
    done = f"status IN {_in(completed)}"
    return f"""SELECT kind, provider, count(*), count(*) FILTER (WHERE {done}),
    sum(exchanges)::bigint, sum(participants)::bigint, sum(women)::bigint,
    sum(amount), count(amount),
    count(*) FILTER (WHERE study_tour AND {done}), count(*) FILTER (WHERE concrete AND {done})
FROM {FACTS} WHERE {KINDS} AND grant_id IN (__SCOPED__) GROUP BY kind, provider"""


def _totals_statement(completed) -> str:
    """Over the sums of the statuses in scope (its parameter, an array)."""
    done = f"status IN {_in(completed)}"
    return f"""SELECT kind, provider, sum(grants)::bigint,
    COALESCE(sum(grants) FILTER (WHERE {done}), 0)::bigint,
    sum(exchanges)::bigint, sum(participants)::bigint, sum(women)::bigint,
    sum(amount), sum(amounted)::bigint,
    COALESCE(sum(study_tours) FILTER (WHERE {done}), 0)::bigint,
    COALESCE(sum(concrete) FILTER (WHERE {done}), 0)::bigint
FROM {TOTALS} WHERE {KINDS} AND status = ANY(%s) GROUP BY kind, provider"""


def indicator_figures(grants, completed, statuses=None):
    """(figures, recipients, providers) as ``portfolio._indicator_figures`` gives them:
    from the sums of ``statuses`` when ``grants`` are exactly the grants at these
    statuses, else from the facts of ``grants``. Two queries: the grants noted, the
    sums."""
    found = read_kept(_statement(completed), _totals_statement(completed), grants, statuses)
    return figures_of(found)


def figures_of(found):
    """The statement's rows as (figures, recipients, providers)."""
    figures = {
        "grants_approved": 0,
        "grants_completed": 0,
        "held": 0,
        "participants": 0,
        "women": 0,
        "average": None,
        "study_tours": 0,
        "concrete": 0,
    }
    recipients, providers = set(), set()
    for kind, code, grants, completed, held, participants, women, *rest in found:
        if kind == RECIPIENT_COUNTRY:
            recipients.add(code)
        elif kind == PROVIDER_COUNTRY:
            providers.add(code)
        else:
            amount, amounted, study_tours, concrete = rest
            figures.update(
                grants_approved=grants,
                grants_completed=completed,
                held=held,
                participants=participants,
                women=women,
                average=amount / amounted if amounted else None,
                study_tours=study_tours,
                concrete=concrete,
            )
    return figures, recipients, providers
