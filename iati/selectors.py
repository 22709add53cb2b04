"""Which grants the IATI files and checks read."""

from grants.models import APPROVED_AND_LATER
from grants.selectors import grants_visible_to

from .data import published_grants


def published_to_everyone(user):
    """The files are public: every grant approved or later, whoever asks (drafts,
    submitted, under review, returned and rejected grants are never published)."""
    return published_grants()


def published_grants_visible_to(user):
    """The checks: the published grants this user may see (the read rule admits fund
    managers only, who see them all)."""
    return grants_visible_to(user).filter(status__in=APPROVED_AND_LATER)
