"""Who may add a document to a grant they see (seeing one is ``selectors``' rule).

The grant's task team leader, fund managers, and on a grant of a funding window the
window's approvers (its window managers). A draft is seen by its leader alone, so only
they add to it; nobody adds to a rejected or cancelled grant (nothing more happens in it).
"""

from django.utils.translation import gettext as _

from grants.models import Grant, GrantStatus
from grants.permissions import delegated_limit, is_leader_of
from partners.roles import is_fund_manager

CLOSED_TO_DOCUMENTS = (GrantStatus.REJECTED, GrantStatus.CANCELLED)


def can_upload_document(user, grant: Grant) -> tuple[bool, str]:
    if is_leader_of(user, grant) or is_fund_manager(user):
        return True, ""
    if delegated_limit(user, grant) is not None:
        return True, ""
    return False, (
        _(
            "Only the grant's task team leader, fund managers and its window's approvers "
            "add documents."
        )
    )
