from django import forms
from django.utils.translation import gettext_lazy as _

from seetf.common.forms import WebForm

from .models import Delivery, NotificationKind


class CommentForm(WebForm):
    body = forms.CharField(
        label=_("Your comment"),
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Markdown. Write @username to tell a participant of the discussion."),
    )


class PreferencesForm(WebForm):
    """One choice per kind of notification: at once, in a daily digest, or never."""

    def __init__(self, *args, current: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        for kind, label in NotificationKind.choices:
            self.fields[kind] = forms.ChoiceField(
                label=label,
                choices=Delivery.choices,
                initial=current[kind],
                widget=forms.RadioSelect,
            )
