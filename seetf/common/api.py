"""Building blocks every API view uses: scoped views, rule-based permissions and the
report renderers (CSV and XLSX)."""

from django.core.exceptions import ImproperlyConfigured
from drf_spectacular.utils import OpenApiParameter
from rest_framework import mixins, permissions, renderers, serializers, viewsets
from rest_framework.views import APIView

from . import spreadsheets

REPORT_FORMAT_PARAMETER = OpenApiParameter(
    "format",
    str,
    enum=["json", "csv", "xlsx"],
    description="`csv` for a CSV download, `xlsx` for an Excel workbook (typed cells, a "
    "bold header, a TOTAL row). Text cells beginning with `=`, `+`, `-` (unless a number), "
    "`@`, a tab or a carriage return start with a single quote (formula injection).",
)


class ScopedViewMixin:
    """Owns ``get_queryset``, so that no API view can forget to scope what it reads.

    A view declares ``scope = staticmethod(selector)``: a function of the user that gives
    the rows that user may see (``grants.selectors.grants_visible_to``, or a named
    "everything" selector for reference data). ``get_queryset()`` is that scope for the
    request's user, passed through ``refine(queryset)``, where a view narrows it (a
    nested resource to its parent in the URL) and joins what it serializes.
    ``scoped()`` is the scope alone, for views that read rows rather than instances.

    Checked when a class is made, so that a mistake fails at import: a concrete view
    must have a scope, and no view may override ``get_queryset`` or ``scoped``, nor
    set a ``queryset`` that reads rows (``Model.objects.none()`` may name the model for
    the schema, which names a path's ``{pk}`` after it). An intermediate base without a
    scope says so: ``class GrantChildViewSet(ScopedViewSet, abstract=True)``.
    """

    scope = None
    _owned = ("get_queryset", "scoped")

    def __init_subclass__(cls, abstract: bool = False, **kwargs):
        super().__init_subclass__(**kwargs)
        name = f"{cls.__module__}.{cls.__qualname__}"
        for method in ScopedViewMixin._owned:
            if getattr(cls, method) is not getattr(ScopedViewMixin, method):
                raise ImproperlyConfigured(
                    f"{name} overrides {method}() (or lists a base that defines it before "
                    "ScopedViewMixin): ScopedViewMixin owns it, so that every read starts "
                    "from the declared scope. Narrow or join in refine(queryset) instead."
                )
        queryset = getattr(cls, "queryset", None)
        if queryset is not None and not queryset.query.is_empty():
            raise ImproperlyConfigured(
                f"{name} sets a queryset that reads rows: declare scope = "
                "staticmethod(<selector>) instead (a queryset may only name the model "
                "for the schema: Model.objects.none())."
            )
        if abstract:
            return
        if not callable(cls.scope):
            raise ImproperlyConfigured(
                f"{name} declares no scope: set scope = staticmethod(<selector>), a "
                "function of the user giving the rows they may see (e.g. "
                "grants.selectors.grants_visible_to), or mark an intermediate base "
                "with abstract=True."
            )

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method not in permissions.SAFE_METHODS:
            # The body parsed now, once the request is admitted, even where the action
            # reads none (publish): malformed JSON is a 400 on every write, and nothing
            # is done with it.
            request.data  # noqa: B018

    def scoped(self):
        """The rows this request's user may see: the declared scope, unrefined."""
        # From the class: a scope declared without staticmethod() is not made a method.
        return type(self).scope(self.request.user)

    def get_queryset(self):
        queryset = self.scoped()
        if getattr(self, "swagger_fake_view", False):
            return queryset  # Schema generation: no URL arguments to refine with.
        return self.refine(queryset)

    def refine(self, queryset):
        """The scope narrowed or joined for this view; as it is by default."""
        return queryset


class ScopedViewSet(ScopedViewMixin, viewsets.GenericViewSet, abstract=True):
    """The base of every API viewset: a ``GenericViewSet`` reading through its scope."""


class ScopedReadOnlyViewSet(
    mixins.RetrieveModelMixin, mixins.ListModelMixin, ScopedViewSet, abstract=True
):
    """A ``ReadOnlyModelViewSet`` reading through its scope."""


class ScopedAPIView(ScopedViewMixin, APIView, abstract=True):
    """The base of plain API views that read rows (reports, a grant's completion
    report): their handlers start from ``get_queryset()`` or ``scoped()``."""


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


class _ReportRenderer(renderers.BaseRenderer):
    """A report ``{"rows": [...], "totals": {...}}`` as a spreadsheet download
    (``seetf.common.spreadsheets``: one layout and one formula-injection rule for CSV
    and XLSX). The view may name ``report_name`` (the file's name, ``seetf-<name>.<ext>``)
    and ``report_serializer`` (whose field declarations type the XLSX cells)."""

    def _attach(self, renderer_context):
        context = renderer_context or {}
        response, view = context.get("response"), context.get("view")
        name = getattr(view, "report_name", None)
        if response is not None and name and response.status_code < 400:
            response["Content-Disposition"] = f'attachment; filename="seetf-{name}.{self.format}"'
        return view


class ReportCSVRenderer(_ReportRenderer):
    """CSV: a header, the rows, then a ``TOTAL`` line with the totals under their
    columns; an error body (e.g. 401) one row with a column per key."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        self._attach(renderer_context)
        return spreadsheets.report_csv(data)


class ReportXLSXRenderer(_ReportRenderer):
    """Excel: the CSV's table with typed cells, a bold header, panes frozen under it."""

    media_type = spreadsheets.XLSX_MEDIA_TYPE
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        view = self._attach(renderer_context)
        return spreadsheets.report_xlsx(
            data,
            title=getattr(view, "report_name", None) or "report",
            fields=spreadsheets.report_fields(getattr(view, "report_serializer", None)),
        )


# The renderers of every report: JSON, `?format=csv`, `?format=xlsx`.
REPORT_RENDERERS = [renderers.JSONRenderer, ReportCSVRenderer, ReportXLSXRenderer]


class ErrorSerializer(serializers.Serializer):
    """A refused request: 403 (forbidden action) and 409 (business rule)."""

    detail = serializers.CharField()
    code = serializers.CharField(
        help_text="insufficient_funds, invalid_transition, over_disbursement, over_release, "
        "duplicate, self_approval, over_delegated_limit, permission_denied, ..."
    )
