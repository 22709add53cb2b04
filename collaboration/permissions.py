"""Who takes part in a grant's discussion.

The discussion is the fund's working conversation about a grant: its task team leader,
the fund managers, and the approvers of its funding window (window managers named on
it). Others who may see the grant (donors, other leaders once it is approved) get a
403 on its comments: they see the grant, not the deliberation about it. Whoever may not
see the grant at all gets the grant's 404 first.
"""

from django.utils.translation import gettext as _

from grants.permissions import delegated_limit, is_leader_of
from partners.roles import is_fund_manager


def can_discuss(user, grant) -> tuple[bool, str]:
    if is_leader_of(user, grant) or is_fund_manager(user):
        return True, ""
    if delegated_limit(user, grant) is not None:
        return True, ""
    return False, (
        _(
            "The discussion of a grant is between its task team leader, the fund managers "
            "and its window's approvers."
        )
    )
