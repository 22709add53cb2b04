"""Grants made through the services, at any status of the workflow."""

from datetime import date
from decimal import Decimal

from grants import services
from grants.models import GrantStatus
from partners.models import Country, Sector
from results import services as results_services

# The workflow path to each status, from a draft.
PATHS = {
    GrantStatus.DRAFT: [],
    GrantStatus.SUBMITTED: ["submit"],
    GrantStatus.UNDER_REVIEW: ["submit", "start-review"],
    GrantStatus.RETURNED: ["submit", "return"],
    GrantStatus.REJECTED: ["submit", "reject"],
    GrantStatus.APPROVED: ["submit", "approve"],
    GrantStatus.CANCELLED: ["submit", "approve", "cancel"],
    GrantStatus.COMPLETED: ["submit", "approve", "report", "complete"],
    GrantStatus.CLOSED: ["submit", "approve", "report", "complete", "accept", "close"],
}

REPORT = {
    "outcomes_achieved": ["raised_awareness", "increased_implementation_knowhow"],
    "concrete_results": [{"kind": "action_plan", "description": "A national action plan."}],
    "participants": 24,
    "rating": "S",
    "lessons": "Peer learning worked best when officials met their counterparts.",
    "follow_up_needed": False,
}


def grant_data(**overrides) -> dict:
    data = {
        "title": "Conditional cash transfers for Honduras",
        "summary": "Officials from Honduras learn from Mexico's experience.",
        "sector": Sector.objects.get(code="16010"),
        "region": "LCR",
        "recipient_countries": [Country.objects.get(code="HND")],
        "provider_countries": [Country.objects.get(code="MEX")],
        "requested_usd": Decimal("100000.00"),
        "planned_start": date(2026, 1, 10),
        "planned_end": date(2026, 6, 30),
        "targeted_outcomes": ["raised_awareness", "enhanced_knowledge_and_skills"],
    }
    data.update(overrides)
    return data


def make_grant(leader, status=GrantStatus.DRAFT, *, manager=None, approved_usd=None, **overrides):
    """A grant led by ``leader``, moved to ``status`` (a fund manager decides)."""
    grant = services.grant_create(leader=leader, **grant_data(**overrides))
    for action in PATHS[status]:
        if action == "report":
            results_services.completion_report_save(grant=grant, user=leader, **REPORT)
        elif action == "complete":
            results_services.completion_report_submit(grant=grant, user=leader)
        elif action == "accept":
            results_services.completion_report_accept(grant=grant, user=manager)
        else:
            actor = leader if action == "submit" else manager
            kwargs = {}
            if action == "approve":
                kwargs["approved_usd"] = approved_usd or grant.requested_usd
            grant = services.grant_transition(grant=grant, user=actor, action=action, **kwargs)
    grant.refresh_from_db()
    return grant


def make_exchange(grant, user, *, instrument="workshop", title="A workshop", **fields):
    """An exchange of the grant recorded by ``user`` (its leader while draft or returned,
    a fund manager once approved), held 1-5 February 2026 unless told otherwise."""
    fields = {"start_date": date(2026, 2, 1), "end_date": date(2026, 2, 5), **fields}
    return services.exchange_create(
        grant=grant, user=user, instrument=instrument, title=title, **fields
    )
