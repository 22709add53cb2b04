import getpass
import sys

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from partners.models import Partner
from partners.roles import Role
from partners.services import user_create_or_update


class Command(BaseCommand):
    help = (
        "Create or update a user with one or more seetf roles (and a donor's partner). A "
        "new user needs a password: --password, or typed at the prompt (a terminal only); "
        "it must pass the password validators. Updating an existing user without a "
        "password keeps theirs."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--role",
            action="append",
            required=True,
            choices=Role.values,
            dest="roles",
            help="fund_manager, task_team_leader, donor or window_manager; repeat for "
            "several roles.",
        )
        parser.add_argument("--partner", help="The donor's partner code (e.g. DNK).")
        parser.add_argument("--email")
        parser.add_argument(
            "--password",
            help="Prompted for when not given, if input is a terminal. Checked by the "
            "password validators (AUTH_PASSWORD_VALIDATORS).",
        )
        parser.add_argument(
            "--no-input",
            "--noinput",
            action="store_false",
            dest="interactive",
            help="Never prompt (for scripts): a new user then needs --password; an existing "
            "user given no --password keeps theirs.",
        )

    def handle(self, *args, username, roles, partner, email, password, interactive, **options):
        partner_obj = None
        if partner:
            partner_obj = Partner.objects.filter(code=partner.upper()).first()
            if partner_obj is None:
                raise CommandError(f"No partner with code {partner!r}.")
        is_new = not get_user_model().objects.filter(username=username).exists()
        if password is None and is_new:
            password = self._prompt(username, interactive)
        try:
            user = user_create_or_update(
                username=username,
                roles=sorted(set(roles)),
                partner=partner_obj,
                email=email,
                password=password,
            )
        except ValidationError as exc:
            raise CommandError("\n".join(exc.messages)) from exc
        self.stdout.write(
            f"{user.username}: {', '.join(sorted(set(roles)))}"
            + (f" (partner {partner_obj.code})" if partner_obj else "")
        )

    def _prompt(self, username: str, interactive: bool) -> str:
        """The new user's password, typed twice at a terminal. Without one (a script, a
        pipe, --no-input) a new user would have no way to log in: refuse instead (getpass
        would read the password from a pipe, echoed, with a GetPassWarning)."""
        if not interactive or not sys.stdin.isatty():
            raise CommandError(
                f"{username} is a new user and needs a password: give --password, or run "
                "this in a terminal without --no-input to type it. Nothing was changed."
            )
        try:
            password = getpass.getpass(f"Password for {username}: ")
            again = getpass.getpass("Password (again): ")
        except EOFError as exc:
            raise CommandError("No password typed. Nothing was changed.") from exc
        if password != again:
            raise CommandError("The two passwords differ. Nothing was changed.")
        if not password:
            raise CommandError("The password is empty. Nothing was changed.")
        return password
