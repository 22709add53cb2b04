"""Template tags of collaboration: the header's unread count (one query, none for
anonymous visitors) and a grant's discussion for the grant page's partial."""

from django import template

from .. import selectors
from ..forms import CommentForm
from ..permissions import can_discuss

register = template.Library()


@register.simple_tag
def unread_notifications(user) -> int:
    return selectors.unread_count(user)


@register.simple_tag
def grant_discussion(user, grant) -> dict:
    """The discussion for a participant (its comments, one query, and the form); for
    anyone else nothing, and no query."""
    if not user.is_authenticated or not can_discuss(user, grant)[0]:
        return {"shown": False}
    return {
        "shown": True,
        "comments": list(selectors.grant_comments(grant)),
        "form": CommentForm(auto_id="id_comment_%s"),
    }
