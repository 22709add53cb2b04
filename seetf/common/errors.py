"""The error that services raise when a business rule refuses a change."""


class ApplicationError(Exception):
    """A business rule refused the change; the API answers ``{"detail", "code"}``.

    ``code`` is one of the API's stable codes (``insufficient_funds``,
    ``invalid_transition``, ``over_disbursement``, ``duplicate``, ``self_approval``...);
    ``status`` is 409 for a rule about the state of things and 403 for a forbidden action.
    """

    def __init__(self, message: str, *, code: str, status: int = 409):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
