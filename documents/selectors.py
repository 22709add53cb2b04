"""Which documents a user may see and download, decided here only.

Whoever sees a grant (``grants.selectors.grants_visible_to``) sees its documents; nobody
else does (a 404, as for the grant). One exception makes documents public: once a
results story of the grant is published, its documents are published with it (anyone,
anonymous visitors included, may download them from the story's page, and the IATI
activity links to them), except participant lists, which name people.
"""

from django.db.models import Exists, OuterRef, Q

from grants.selectors import grants_visible_to
from results.models import ResultsStory
from seetf.common.prepared import Prepared

from .models import PRIVATE_CATEGORIES, Document


def _published_story():
    return Exists(ResultsStory.objects.filter(grant_id=OuterRef("grant_id"), published=True))


def public_documents():
    """The documents published with a results story of their grant."""
    return Document.objects.filter(_published_story()).exclude(category__in=PRIVATE_CATEGORIES)


def documents_visible_to(user):
    visible = Q(grant__in=grants_visible_to(user))
    public = _published_story() & ~Q(category__in=PRIVATE_CATEGORIES)
    return Document.objects.filter(visible | public)


def _documents_of(grant):
    return (
        Document.objects.filter(grant_id=grant)
        .select_related("uploaded_by", "exchange")
        .order_by("-uploaded_at", "-id")
    )


# Compiled once (seetf.common.prepared): the grant page reads it on every view.
_DOCUMENTS_OF = Prepared(_documents_of, "grant", integers=("grant",))


def seen_grant_documents(grant_id: int) -> list:
    """The documents of a grant its user was found to see (the grant page's grant, read
    through ``grants_visible_to``), as ``grant_documents`` gives them to that user: every
    one (whoever sees a grant sees its documents), so no visibility to work out again."""
    return _DOCUMENTS_OF.rows(grant=grant_id)


def grant_documents(user, grant_id: int):
    """A grant's documents this user sees, newest first, with their uploader and exchange
    joined (the grant page and the API list read no more)."""
    return (
        documents_visible_to(user)
        .filter(grant_id=grant_id)
        .select_related("uploaded_by", "exchange")
        .order_by("-uploaded_at", "-id")
    )
