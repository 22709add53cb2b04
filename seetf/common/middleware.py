"""``Cache-Control: no-store`` on the API's private responses (issue 14, point 8)."""

from django.conf import settings
from django.utils.cache import patch_cache_control

READS = ("GET", "HEAD")


class APINoStoreMiddleware:
    """Every ``/api/`` response is ``Cache-Control: no-store`` unless it is a public read:
    a successful GET or HEAD by a request with no credentials (no ``Authorization``
    header, no session cookie). So a response to a signed-in user or a token is never
    kept by a browser or a proxy, nor is any answer of an endpoint that is not public (it
    answers a request without credentials 401), nor a token the token endpoint gives; the
    public reads (published stories, the schema and its docs) keep their headers."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith("/api/") and not _public_read(request, response):
            patch_cache_control(response, no_store=True)
        return response


def _public_read(request, response) -> bool:
    return (
        request.method in READS
        and 200 <= response.status_code < 300
        and not _with_credentials(request)
    )


def _with_credentials(request) -> bool:
    if "HTTP_AUTHORIZATION" in request.META or settings.SESSION_COOKIE_NAME in request.COOKIES:
        return True
    # A user DRF authenticated some other way is set on Django's request too. Without a
    # session cookie the lazy user of AuthenticationMiddleware is anonymous, no query.
    user = getattr(request, "user", None)
    return user is not None and user.is_authenticated
