import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from bench.portfolio import DEFAULT_AS_OF, PortfolioError, generate_portfolio


class Command(BaseCommand):
    help = (
        "Write a deterministic, realistic synthetic portfolio of N grants (partners, "
        "pledges and receipts in several currencies, grants in every status with their "
        "exchanges, history, disbursements, completion reports, stories, reminders, "
        "alerts, funding windows, offers and requests, follow-up needs, ex-post checks, "
        "lessons, documents (small files in the documents storage), comments and "
        "notifications) into an empty database, in bulk. The same --seed gives the same data."
    )

    def add_arguments(self, parser):
        parser.add_argument("--grants", type=int, required=True, help="How many grants.")
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
        parser.add_argument(
            "--as-of",
            default=DEFAULT_AS_OF.isoformat(),
            help=f"The portfolio's today, YYYY-MM-DD (default {DEFAULT_AS_OF}).",
        )

    def handle(self, *args, grants, seed, as_of, **options):
        try:
            day = date.fromisoformat(as_of)
        except ValueError as exc:
            raise CommandError("--as-of takes YYYY-MM-DD.") from exc
        if grants < 1:
            raise CommandError("--grants must be at least 1.")
        started = time.perf_counter()
        try:
            summary = generate_portfolio(grants=grants, seed=seed, as_of=day)
        except PortfolioError as exc:
            raise CommandError(str(exc)) from exc
        elapsed = time.perf_counter() - started
        by_status = ", ".join(f"{k} {v}" for k, v in summary.by_status.items())
        self.stdout.write(
            f"Generated {summary.grants} grants ({by_status}) in {elapsed:.1f} s, seed {seed}, "
            f"as of {day}.\n"
            f"  {summary.partners} partners, {summary.contributions} contributions, "
            f"{summary.receipts} receipts, {summary.users} users\n"
            f"  {summary.exchanges} exchanges, {summary.history} history rows, "
            f"{summary.disbursements} disbursements, {summary.reports} completion reports, "
            f"{summary.stories} stories, {summary.reminders} reminders, {summary.alerts} alerts\n"
            f"  {summary.windows} windows ({summary.window_grants} grants in them), "
            f"{summary.offers} offers, {summary.requests} requests\n"
            f"  {summary.follow_up_needs} follow-up needs ({summary.follow_up_financed} "
            f"financed), {summary.ex_post_checks} ex-post checks ({summary.ex_post_filed} "
            f"filed), {summary.lessons} lessons\n"
            f"  {summary.documents} documents ({summary.document_bytes:,} bytes), "
            f"{summary.comments} comments ({summary.mentions} mentions), "
            f"{summary.notifications} notifications ({summary.notifications_unread} unread, "
            f"{summary.notifications_pending} not yet e-mailed)\n"
            "  fund: " + ", ".join(f"{k} {v:,.2f}" for k, v in summary.ledger.items())
        )
