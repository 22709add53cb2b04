from django import forms
from django.utils.translation import gettext_lazy as _

from .models import DocumentCategory


class DocumentForm(forms.Form):
    """The grant page's upload form; the service checks the file (documents.services)."""

    category = forms.ChoiceField(label=_("Category"), choices=DocumentCategory.choices)
    title = forms.CharField(label=_("Title"), max_length=200)
    file = forms.FileField(label=_("File"))
    exchange = forms.TypedChoiceField(
        label=_("Exchange (optional)"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args, exchanges=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["exchange"].choices = [("", "–")] + [(e.pk, e.title) for e in exchanges]
