"""Funding windows made through the services, as real ones are."""

from datetime import date
from decimal import Decimal

from partners import services
from partners.models import Sector

_codes = iter(range(1, 10**6))


def make_window(manager, *, allocate=None, approvers=(), sectors=(), **fields):
    """A window opened by ``manager`` (a fund manager), open all of 2020-2099 unless told
    otherwise, with ``allocate`` USD moved into it and ``approvers``: [(user, limit)]."""
    data = {
        "code": f"W{next(_codes):03d}",
        "name": "A window",
        "kind": "regional",
        "max_grant_usd": Decimal("200000.00"),
        "opens_on": date(2020, 1, 1),
        "closes_on": date(2099, 12, 31),
        **fields,
    }
    window = services.window_create(
        user=manager,
        sectors=[Sector.objects.get(code=c) for c in sectors],
        approvers=[{"user": u, "limit_usd": Decimal(str(limit))} for u, limit in approvers],
        **data,
    )
    if allocate:
        services.window_allocate(window=window, user=manager, amount_usd=Decimal(str(allocate)))
        window.refresh_from_db()
    return window
