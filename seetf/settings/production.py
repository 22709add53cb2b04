"""Production: base plus HTTPS hardening. SECRET_KEY and ALLOWED_HOSTS must be set.

`python manage.py check --deploy --settings=seetf.settings.production` reports
nothing with the defaults below. Behind a proxy that terminates TLS, set
SECURE_PROXY_SSL_HEADER_ENABLED=1. docker-compose sets SECURE_SSL_REDIRECT=0 and
SECURE_COOKIES=0 because it serves plain HTTP on localhost; that is a decision for
a local demo only (check --deploy then warns, W008/W012/W016, as it should).
"""

from .base import *  # noqa: F403
from .base import env

if DEBUG:  # noqa: F405
    raise environ.ImproperlyConfigured("DEBUG must be off in production.")  # noqa: F405

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Probes call the health endpoints over plain HTTP from inside the network (docker
# compose's health check, a load balancer): a redirect to HTTPS would fail them.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_COOKIES = env.bool("SECURE_COOKIES", default=True)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Decided: no HSTS preload by default (it is hard to undo; a deployment opts in with
# SECURE_HSTS_PRELOAD=1), so the check that asks for it is silenced.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if env.bool("SECURE_PROXY_SSL_HEADER_ENABLED", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] = ["rest_framework.renderers.JSONRenderer"]  # noqa: F405
