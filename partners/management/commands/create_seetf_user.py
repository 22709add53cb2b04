import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from partners.models import Partner
from partners.roles import Role
from partners.services import user_create_or_update


class Command(BaseCommand):
    help = "Create or update a user with one or more seetf roles (and a donor's partner)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--role",
            action="append",
            required=True,
            choices=Role.values,
            dest="roles",
            help="fund_manager, task_team_leader or donor; repeat for several roles.",
        )
        parser.add_argument("--partner", help="The donor's partner code (e.g. DNK).")
        parser.add_argument("--email")
        parser.add_argument(
            "--password", help="Prompted for when not given (and when input is interactive)."
        )
        parser.add_argument(
            "--no-input",
            "--noinput",
            action="store_false",
            dest="interactive",
            help="Never prompt: without --password a new user gets no usable password and "
            "an existing user keeps theirs (for scripts).",
        )

    def handle(self, *args, username, roles, partner, email, password, interactive, **options):
        partner_obj = None
        if partner:
            partner_obj = Partner.objects.filter(code=partner.upper()).first()
            if partner_obj is None:
                raise CommandError(f"No partner with code {partner!r}.")
        if password is None and interactive:
            try:
                password = getpass.getpass(f"Password for {username}: ")
            except EOFError:
                password = None
            if password == "":
                password = None
        try:
            user = user_create_or_update(
                username=username,
                roles=sorted(set(roles)),
                partner=partner_obj,
                email=email,
                password=password,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(
            f"{user.username}: {', '.join(sorted(set(roles)))}"
            + (f" (partner {partner_obj.code})" if partner_obj else "")
        )
