import secrets
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from partners.models import Partner, Window, WindowKind
from partners.roles import Role
from partners.services import (
    fund_lock,
    user_create_or_update,
    window_allocate,
    window_create,
    window_update,
)

DEMO_USERS = [
    ("demo_manager", Role.FUND_MANAGER, None),
    ("demo_leader", Role.TASK_TEAM_LEADER, None),
    ("demo_donor", Role.DONOR, "DNK"),
    ("demo_window", Role.WINDOW_MANAGER, None),
]

# The demo's funding window: small grants, open this year and the next, money allocated
# from the review's fund, and demo_window its approver up to the review's average grant
# (a larger one goes to the fund manager: 403 over_delegated_limit for demo_window).
DEMO_WINDOW = {
    "code": "DEMO-SG",
    "name": "Small grants (demo)",
    "kind": WindowKind.SMALL_GRANTS,
    "max_grant_usd": Decimal("150000.00"),
}
DEMO_WINDOW_ALLOCATION = Decimal("500000.00")
DEMO_WINDOW_LIMIT = Decimal("100000.00")


class Command(BaseCommand):
    help = (
        "Demo mode only (SEETF_DEMO=1): create one user per role with a fresh random "
        "password, and print the names and passwords; and a funding window the window "
        "manager approves in."
    )

    def handle(self, *args, **options):
        if not settings.SEETF_DEMO:
            raise CommandError("Demo users are created in demo mode only: set SEETF_DEMO=1.")
        self.stdout.write("Demo users (passwords are new at every run):")
        users = {}
        with transaction.atomic():
            for username, role, partner_code in DEMO_USERS:
                partner = None
                if partner_code:
                    partner = Partner.objects.filter(code=partner_code).first()
                    if partner is None:
                        raise CommandError("Run load_review_2011 first (the donor's partner).")
                password = secrets.token_urlsafe(12)
                users[role] = user_create_or_update(
                    username=username,
                    roles=[role],
                    partner=partner,
                    email=f"{username}@example.org",
                    password=password,
                )
                self.stdout.write(f"  {role:<17} {username:<13} password: {password}")
            window = self._demo_window(users[Role.FUND_MANAGER], users[Role.WINDOW_MANAGER])
        self.stdout.write(
            f"{users[Role.WINDOW_MANAGER].get_username()} approves grants of the window "
            f"{window.code} up to {DEMO_WINDOW_LIMIT:,.2f} USD (/windows/{window.pk}/)."
        )

    def _demo_window(self, manager, approver) -> Window:
        """The demo window, opened and funded by the demo fund manager through the
        services the first time (audited, as on the window's page), its approver named
        again each time (a fresh database keeps the window, not the users' changes)."""
        named = [{"user": approver, "limit_usd": DEMO_WINDOW_LIMIT}]
        window = Window.objects.filter(code=DEMO_WINDOW["code"]).first()
        if window is not None:
            others = [
                {"user": a.user, "limit_usd": a.limit_usd}
                for a in window.approver_limits.select_related("user")
                if a.user_id != approver.pk
            ]
            return window_update(window=window, user=manager, approvers=[*others, *named])
        year = timezone.localdate().year
        window = window_create(
            user=manager,
            opens_on=date(year, 1, 1),
            closes_on=date(year + 1, 12, 31),
            approvers=named,
            **DEMO_WINDOW,
        )
        if fund_lock().available_usd >= DEMO_WINDOW_ALLOCATION:
            window_allocate(
                window=window,
                user=manager,
                amount_usd=DEMO_WINDOW_ALLOCATION,
                reason="The demo's small-grants window.",
            )
        return window
