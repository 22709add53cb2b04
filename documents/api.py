"""``/api/v1/grants/{id}/documents/``: a grant's documents (API.md, Working on a grant),
and the download every document's ``url`` names."""

from urllib.parse import quote

from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.urls import path, reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import AllowAny

from grants.api.views import REFUSALS, GrantChildViewSet
from seetf.common.api import ScopedAPIView

from . import files, services
from .models import Document, DocumentCategory
from .selectors import documents_visible_to


def download_url(request, document: Document) -> str:
    url = reverse("document-download", kwargs={"grant_pk": document.grant_id, "pk": document.pk})
    return request.build_absolute_uri(url) if request is not None else url


class DocumentSerializer(serializers.ModelSerializer):
    file = serializers.FileField(
        write_only=True,
        help_text="The file (multipart). PDF, Office documents (docx, xlsx, pptx, doc, xls, "
        "ppt), PNG, JPEG, GIF, WebP, plain text or CSV, told from its content; at most "
        "SEETF_DOCUMENT_MAX_BYTES (20 MB by default).",
    )
    category = serializers.ChoiceField(choices=DocumentCategory.choices)
    exchange = serializers.IntegerField(
        source="exchange_id",
        required=False,
        allow_null=True,
        min_value=1,
        max_value=2**63 - 1,
        help_text="One of the grant's exchanges (its id).",
    )
    completion_report = serializers.BooleanField(
        required=False, default=False, help_text="Attached to the grant's completion report."
    )
    uploaded_by = serializers.CharField(source="uploaded_by.username", read_only=True)
    url = serializers.SerializerMethodField(help_text="Downloads the file (the same rule).")

    class Meta:
        model = Document
        fields = [
            "id",
            "category",
            "title",
            "filename",
            "size",
            "content_type",
            "uploaded_by",
            "uploaded_at",
            "url",
            "exchange",
            "completion_report",
            "file",
        ]
        read_only_fields = ["filename", "size", "content_type", "uploaded_at"]

    def get_url(self, document) -> str:
        return download_url(self.context.get("request"), document)

    def to_representation(self, document):
        data = super().to_representation(document)
        data["completion_report"] = document.completion_report_id is not None
        return data


@extend_schema_view(
    create=extend_schema(
        request={"multipart/form-data": DocumentSerializer},
        responses={201: DocumentSerializer, **REFUSALS},
    ),
)
class DocumentViewSet(
    GrantChildViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin
):
    """A grant's documents: whoever sees the grant lists and downloads them; its leader,
    fund managers and its window's approvers add them (multipart). Nothing is deleted or
    replaced: a corrected file is a new document."""

    scope = staticmethod(documents_visible_to)
    queryset = Document.objects.none()
    serializer_class = DocumentSerializer
    ordering_fields = ["uploaded_at", "id"]
    ordering = ["-uploaded_at", "-id"]

    def refine(self, documents):
        return documents.filter(grant=self.grant).select_related("uploaded_by")

    def create(self, request, *args, **kwargs):
        # Role and status first: a 403 or 409 before any 400 about the file.
        services.document_check(grant=self.grant, user=request.user)
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer):
        data = serializer.validated_data
        grant = self.grant
        exchange = None
        if data.get("exchange_id") is not None:
            exchange = grant.exchanges.filter(pk=data["exchange_id"]).first()
            if exchange is None:
                raise ValidationError({"exchange": [_("No such exchange of this grant.")]})
        report = None
        if data.get("completion_report"):
            report = getattr(grant, "completion_report", None)
            if report is None:
                raise ValidationError({"completion_report": [_("The grant has no report yet.")]})
        serializer.instance = services.document_upload(
            grant=grant,
            user=self.request.user,
            file=data["file"],
            category=data["category"],
            title=data["title"],
            exchange=exchange,
            completion_report=report,
        )


def content_disposition(filename: str) -> str:
    """``attachment`` with the name twice (RFC 6266): an ASCII fallback for old clients
    and the exact UTF-8 name as ``filename*`` (RFC 5987)."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


class DocumentDownloadView(ScopedAPIView):
    """The file, streamed by the application (never a public URL): to whoever may see the
    document (its grant's readers; anyone once published with a results story), else
    404. Always an attachment, its sniffed type, ``nosniff``."""

    scope = staticmethod(documents_visible_to)
    permission_classes = [AllowAny]

    @extend_schema(
        responses={
            **{(200, kind): OpenApiTypes.BINARY for kind in files.ACCEPTED},
            404: OpenApiResponse(description="No such document, or not visible to this user."),
        },
    )
    def get(self, request, grant_pk, pk):
        document = get_object_or_404(self.scoped(), pk=pk, grant_id=grant_pk)
        try:
            handle = services.document_open(document)
        except FileNotFoundError as missing:
            raise Http404(_("The document's file is missing.")) from missing
        response = FileResponse(handle, content_type=document.content_type)
        response["Content-Disposition"] = content_disposition(document.filename)
        response["Content-Length"] = str(document.size)
        response["X-Content-Type-Options"] = "nosniff"
        # Nothing in it runs, even if a browser is told to show it.
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response


documents = DocumentViewSet.as_view({"get": "list", "post": "create"})
document = DocumentViewSet.as_view({"get": "retrieve"})

urlpatterns = [
    path("grants/<int:grant_pk>/documents/", documents, name="document-list"),
    path("grants/<int:grant_pk>/documents/<int:pk>/", document, name="document-detail"),
    path(
        "grants/<int:grant_pk>/documents/<int:pk>/download/",
        DocumentDownloadView.as_view(),
        name="document-download",
    ),
]
