"""``Cache-Control: no-store`` on the API's private responses, and the
Content-Security-Policy header (issue 14, point 8)."""

import http.client
from dataclasses import asdict

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
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


# The policies built from the settings alone (no nonce, no view's change): the same
# strings for every response, built once, where django-csp builds them for each.
_POLICIES: dict[bool, str] = {}


@receiver(setting_changed)
def _policies_changed(setting, **kwargs):
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _POLICIES.clear()


def _build_policy(config=None, update=None, replace=None, nonce=None, report_only=False):
    """csp.utils.build_policy, from the cache when only the settings decide."""
    if config is None and update is None and replace is None and nonce is None:
        policy = _POLICIES.get(report_only)
        if policy is None:
            policy = _POLICIES[report_only] = build_policy(report_only=report_only)
        return policy
    return build_policy(config, update, replace, nonce, report_only)


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware (CONTENT_SECURITY_POLICY in the settings), with the policy on
    404 and 500 answers under DEBUG too: django-csp leaves those out for Django's debug
    pages, but in demo mode (DEBUG=1) the site shows its own error pages
    (seetf.common.errorpages), which pass the policy like every other page.

    Its ``process_response`` is django-csp's (4.0), with the settings' policies built
    once (``_build_policy``) instead of for every response."""

    def process_response(self, request, response):
        if not (
            response.status_code in (http.client.INTERNAL_SERVER_ERROR, http.client.NOT_FOUND)
            and settings.DEBUG
        ):
            for report_only, header in ((False, HEADER), (True, HEADER_REPORT_ONLY)):
                self._set(request, response, report_only, header)
            if getattr(request, "_csp_nonce", None) is None:
                request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
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

    def _set(self, request, response, report_only, header):
        parts = self.get_policy_parts(request=request, response=response, report_only=report_only)
        policy = _build_policy(parts.config, parts.update, parts.replace, parts.nonce, report_only)
        if not policy:
            return
        suffix = "_ro" if report_only else ""
        setting = (
            "CONTENT_SECURITY_POLICY_REPORT_ONLY" if report_only else "CONTENT_SECURITY_POLICY"
        )
        prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
        if (
            getattr(response, "_csp_exempt" + suffix, False) is False
            and header not in response
            and not request.path_info.startswith(tuple(prefixes))
        ):
            response[header] = policy
