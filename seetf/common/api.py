"""Building blocks every API view uses: rule-based permissions and the CSV renderer."""

import csv
import io

from drf_spectacular.utils import OpenApiParameter
from rest_framework import permissions, renderers, serializers

REPORT_FORMAT_PARAMETER = OpenApiParameter(
    "format", str, enum=["json", "csv"], description="`csv` for a spreadsheet download."
)


class RulePermission(permissions.BasePermission):
    """Applies the view's named rules: ``read_rule`` for safe methods, ``write_rule``
    otherwise. A rule returns ``(allowed, reason)``; the reason becomes the 403's detail.

    Without credentials the answer is 401, whatever the rule.
    """

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        if getattr(view, request.method.lower(), None) is None:
            return True  # A method the view does not offer: let DRF answer 405.
        if request.method in permissions.SAFE_METHODS:
            rule = getattr(view, "read_rule", None)
        else:
            rule = getattr(view, "write_rule", None)
        if rule is None:
            return request.method in permissions.SAFE_METHODS
        allowed, reason = rule(request.user)
        if not allowed:
            self.message = reason
        return allowed


class ReportCSVRenderer(renderers.BaseRenderer):
    """Renders a report ``{"rows": [...], "totals": {...}}`` as CSV: a header, the rows,
    then a ``TOTAL`` line with the totals under their columns."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if not isinstance(data, dict) or "rows" not in data:
            # An error body (e.g. 401) on a CSV request: one column per key.
            data = {"rows": [data] if isinstance(data, dict) else [], "totals": {}}
        rows = data.get("rows") or []
        totals = data.get("totals") or {}
        columns: list[str] = []
        for row in rows:
            for key in row:
                if key not in columns:
                    columns.append(key)
        for key in totals:
            if key not in columns:
                columns.append(key)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
        if totals:
            total_row = [_cell(totals.get(c)) if c in totals else "" for c in columns]
            if columns and columns[0] not in totals:
                total_row[0] = "TOTAL"
            writer.writerow(total_row)
        return out.getvalue().encode(self.charset)


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, tuple)):
        return ";".join(str(v) for v in value)
    return value


class ErrorSerializer(serializers.Serializer):
    """A refused request: 403 (forbidden action) and 409 (business rule)."""

    detail = serializers.CharField()
    code = serializers.CharField(
        help_text="insufficient_funds, invalid_transition, over_disbursement, duplicate, "
        "self_approval, permission_denied, ..."
    )
