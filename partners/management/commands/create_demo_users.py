import secrets

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from partners.models import Partner
from partners.roles import Role
from partners.services import user_create_or_update

DEMO_USERS = [
    ("demo_manager", Role.FUND_MANAGER, None),
    ("demo_leader", Role.TASK_TEAM_LEADER, None),
    ("demo_donor", Role.DONOR, "DNK"),
]


class Command(BaseCommand):
    help = (
        "Demo mode only (SEETF_DEMO=1): create one user per role with a fresh random "
        "password, and print the names and passwords."
    )

    def handle(self, *args, **options):
        if not settings.SEETF_DEMO:
            raise CommandError("Demo users are created in demo mode only: set SEETF_DEMO=1.")
        self.stdout.write("Demo users (passwords are new at every run):")
        for username, role, partner_code in DEMO_USERS:
            partner = None
            if partner_code:
                partner = Partner.objects.filter(code=partner_code).first()
                if partner is None:
                    raise CommandError("Run load_review_2011 first (the donor's partner).")
            password = secrets.token_urlsafe(12)
            user_create_or_update(
                username=username,
                roles=[role],
                partner=partner,
                email=f"{username}@example.org",
                password=password,
            )
            self.stdout.write(f"  {role:<17} {username:<13} password: {password}")
