"""Where browsers report Content-Security-Policy violations (``report-uri /csp-report/``).

A browser that refuses something the policy forbids (an inline script, a style attribute,
a script from another host) POSTs a report here. Each is logged in one line on the
``seetf.csp`` logger (WARNING), naming the directive, what was blocked and the page, so an
operator sees a page the policy breaks, and the browser tests assert there is none. At
most ``CSP_REPORTS_LOGGED_PER_MINUTE`` lines are logged a minute (per cache: shared by
every process when ``CACHE_URL`` is a Redis); the rest are counted and dropped, so a page
that violates the policy in a loop, or a script posting reports, cannot flood the log.

Both formats are read: ``report-uri``'s ``application/csp-report`` (``{"csp-report":
{...}}``) and the Reporting API's ``application/reports+json`` (a list of ``{"type":
"csp-violation", "body": {...}}``). The answer is always 204, or 400 for a body that is
not such a report, 413 beyond 64 KB, 405 for another method; nothing is stored.
"""

import json
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt

logger = logging.getLogger("seetf.csp")

MAX_REPORT_BYTES = 64 * 1024
# The fields of a report that say what happened, in both formats' spellings.
FIELDS = {
    "directive": ("effective-directive", "effectiveDirective", "violated-directive"),
    "blocked": ("blocked-uri", "blockedURL"),
    "page": ("document-uri", "documentURL"),
    "source": ("source-file", "sourceFile"),
    "line": ("line-number", "lineNumber"),
    "sample": ("script-sample", "sample"),
}


def _reports(payload) -> list[dict]:
    """The violation bodies of a report-uri or a Reporting API payload."""
    if isinstance(payload, dict) and isinstance(payload.get("csp-report"), dict):
        return [payload["csp-report"]]
    if isinstance(payload, list):
        return [
            item["body"]
            for item in payload
            if isinstance(item, dict)
            and item.get("type") == "csp-violation"
            and isinstance(item.get("body"), dict)
        ]
    return []


def _line(report: dict) -> str:
    parts = []
    for name, keys in FIELDS.items():
        value = next((report[key] for key in keys if report.get(key) not in (None, "")), None)
        if value is not None:
            text = " ".join(str(value).split())[:200]
            parts.append(f"{name}={text!r}")
    return "CSP violation: " + " ".join(parts)


def _may_log() -> bool:
    """True for the first CSP_REPORTS_LOGGED_PER_MINUTE reports of this minute."""
    key = f"seetf:csp-reports:{int(time.time() // 60)}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=120)
        count = 1
    return count <= settings.CSP_REPORTS_LOGGED_PER_MINUTE


@csrf_exempt
def csp_report(request):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_REPORT_BYTES:
        return HttpResponse(status=413)
    body = request.read(MAX_REPORT_BYTES + 1)
    if len(body) > MAX_REPORT_BYTES:
        return HttpResponse(status=413)
    try:
        reports = _reports(json.loads(body))
    except (ValueError, RecursionError):
        reports = []
    if not reports:
        return HttpResponse("Not a CSP violation report.", status=400, content_type="text/plain")
    for report in reports:
        if _may_log():
            logger.warning(_line(report))
    return HttpResponse(status=204)
