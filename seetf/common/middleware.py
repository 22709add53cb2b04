"""``Cache-Control: no-store`` on the API's private responses, and the
Content-Security-Policy header (issue 14, point 8)."""

from dataclasses import asdict

from csp.constants import HEADER
from csp.middleware import CSPMiddleware
from csp.utils import build_policy
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


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware (CONTENT_SECURITY_POLICY in the settings), with the policy on
    404 and 500 answers under DEBUG too: django-csp leaves those out for Django's debug
    pages, but in demo mode (DEBUG=1) the site shows its own error pages
    (seetf.common.errorpages), which pass the policy like every other page."""

    def process_response(self, request, response):
        response = super().process_response(request, response)
        if (
            settings.DEBUG
            and response.status_code in (404, 500)
            and HEADER not in response
            and not getattr(response, "_csp_exempt", False)
        ):
            policy = build_policy(**asdict(self.get_policy_parts(request, response)))
            if policy:
                response[HEADER] = policy
        return response
