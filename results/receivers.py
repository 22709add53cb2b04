"""What results does when a grant moves (``grants.signals.grant_transitioned``, sent
inside the transition's transaction with the grant locked): a follow-on approved
finances the needs it was proposed for; a grant closed gets its two ex-post checks.
Connected in ``ResultsConfig.ready``; the work is done in the same transaction, so a
transition that rolls back leaves neither."""

from django.db.models import Max
from django.utils import timezone

from . import services


def on_grant_transitioned(sender, *, grant, user, action, past=False, **_):
    if action == "approve":
        services.needs_finance_by(grant=grant, user=user)
    elif action == "close":
        closed_at = timezone.now()
        if past:
            # A decision of the past the importer replays: the day it was taken.
            closed_at = grant.history.filter(action="close").aggregate(at=Max("at"))["at"]
        services.ex_post_checks_create(grant=grant, closed_on=timezone.localdate(closed_at))
