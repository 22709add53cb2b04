"""The fund manager's "Publishing" page: the checks grant by grant, and the two files."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from .checks import all_problems
from .conf import reporting_org
from .permissions import can_read_iati_checks
from .selectors import published_grants_visible_to


@login_required
def publishing(request):
    allowed, reason = can_read_iati_checks(request.user)
    if not allowed:
        raise PermissionDenied(reason)
    grants = published_grants_visible_to(request.user)
    problems = all_problems(grants=grants)
    by_grant: dict = {}
    for problem in problems:
        by_grant.setdefault((problem.grant, problem.reference), []).append(problem)
    rows = [
        {"grant": grant, "reference": reference, "problems": items}
        for (grant, reference), items in by_grant.items()
    ]
    return render(
        request,
        "iati/publishing.html",
        {
            "rows": rows,
            "published": grants.count() - len([r for r in rows if r["grant"] is not None]),
            "org": reporting_org(),
        },
    )
