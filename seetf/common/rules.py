"""What a rule answers: allowed or not, why, and the API's code for the refusal.

The rules of ``*/permissions.py`` answer who may do what (a refusal is a 403); the
guards of ``grants.workflow`` answer whether the state of things allows it (a 409), or
that a field of the object does not fit a rule (a 400 on that field).
"""

from typing import NamedTuple

from django.core.exceptions import ValidationError

from .errors import ApplicationError

PERMISSION_CODES = frozenset({"permission_denied", "self_approval", "over_delegated_limit"})


class Verdict(NamedTuple):
    allowed: bool
    reason: str = ""
    code: str = ""
    # A refusal about one of the object's fields (a grant that does not fit its funding
    # window): a 400 on that field, DRF's shape, instead of a 403 or 409.
    field: str = ""
    # A refusal about several fields at once ({field: [messages]}: a proposal submitted
    # incomplete names every missing field): the 400's body.
    errors: dict | None = None

    @property
    def status(self) -> int:
        """The HTTP status of a refusal: 400 for a field, 403 for who, 409 for the state
        of things."""
        if self.field:
            return 400
        return 403 if self.code in PERMISSION_CODES else 409


ALLOWED = Verdict(True)


def as_verdict(answer, *, code: str = "permission_denied") -> Verdict:
    """A rule's answer as a Verdict: the ``(allowed, reason)`` pairs most rules return
    refuse with ``code`` (``permission_denied`` unless said otherwise)."""
    if isinstance(answer, Verdict):
        return answer if answer.allowed or answer.code else answer._replace(code=code)
    allowed, reason = answer
    return ALLOWED if allowed else Verdict(False, str(reason), code)


def require(answer, *, code: str = "permission_denied") -> None:
    """Raise the refusal of a rule's answer (a Verdict or an ``(allowed, reason)`` pair)
    as the ApplicationError the API and the pages answer with: a 403 for who, a 409 for
    the state of things; nothing when it is allowed."""
    verdict = as_verdict(answer, code=code)
    if not verdict.allowed and verdict.errors:
        raise ValidationError(verdict.errors)
    if not verdict.allowed and verdict.field:
        raise ValidationError({verdict.field: [verdict.reason]})
    if not verdict.allowed:
        raise ApplicationError(verdict.reason, code=verdict.code, status=verdict.status)
